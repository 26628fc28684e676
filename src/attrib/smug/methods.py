"""SMUG's maps as attribution methods of the registry (``smug_base`` and ``smug``)."""

from __future__ import annotations

from attrib.attribution.base import Attribution, AttributionMethod
from attrib.catalogue import SMUG_DEFAULTS
from attrib.features import pixel_to_features


class SmugBase(AttributionMethod):
    """SMUG's map before solving (``attrib.smug.symbolic``): the first-layer neurons chosen by integrated
    gradients paint their scores over their receptive fields. CNNs only (resnet, textcnn)."""

    defaults = {"chunk_size": 64, **SMUG_DEFAULTS}
    solve_masks = False

    def _attribute(self, inputs, target, opts, index):
        from attrib.smug.symbolic import explain  # scipy's solver: only in the jobs that run SMUG

        result = explain(self.model, inputs, target, solve_masks=self.solve_masks, progress=False, **opts)
        maps = result.smug if self.solve_masks else result.base
        if self.model.modality == "text":
            return Attribution(None, maps[:, 0])
        pixel_map = maps[:, None].expand(-1, inputs.shape[1], -1, -1)
        return Attribution(pixel_map, pixel_to_features(pixel_map, self.model.patch))


class Smug(SmugBase):
    """SMUG: ``smug_base`` kept only on the fewest windows (tokens) that keep the chosen neurons
    active, found by a 0/1 program (``backend`` milp or z3), scaled to its 99th percentile."""

    solve_masks = True
