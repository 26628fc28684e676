"""Missingness figures on images: unchanged-fraction curves per order and per removal mode, class
entropy and most-predicted classes; each with its CSV."""

import json

import pandas as pd

from attrib.features import blur_parameters
from attrib.missingness.ablation import ablation_summary, top_classes
from attrib.missingness.figures import missingness_classes_figure, missingness_modes_figure, missingness_orders_figure
from attrib.figures import save
from attrib.runtime import setup

sm = snakemake  # noqa: F821
setup(sm.log[0])
keys = ["dataset", "model", "removal", "order"]
samples = pd.concat(map(pd.read_csv, sm.input.patches), ignore_index=True)
curve = ablation_summary(samples, keys)
meta = {m["dataset"]: json.load(open(m["path"])) for m in sm.params.metas}
curve["num_classes"] = curve["dataset"].map(lambda d: meta[d]["num_classes"])
is_condition = (curve["model"] + ":" + curve["removal"]).isin(sm.params.conditions)

orders = curve[is_condition]
orders.to_csv(sm.output.orders, index=False)
save(missingness_orders_figure(orders), sm.output.orders_figure)

modes = curve[curve["order"] == "random"].copy()
modes["image_size"] = modes["dataset"].map(lambda d: meta[d]["image_size"])
blur = modes["image_size"].map(blur_parameters)  # what the blur filler used at this size
modes["blur_kernel"], modes["blur_sigma"] = blur.str[0], blur.str[1]
modes.to_csv(sm.output.modes, index=False)
save(missingness_modes_figure(modes), sm.output.modes_figure)

classes = curve[is_condition & (curve["order"] == "random")]
classes.to_csv(sm.output.classes, index=False)
random_samples = samples[(samples["order"] == "random")
                         & (samples["model"] + ":" + samples["removal"]).isin(sm.params.conditions)]
top = top_classes(random_samples, ["dataset", "model", "removal"], fraction=0.5, top=5)
top["class_name"] = [meta[d]["classes"][c] for d, c in zip(top["dataset"], top["class"])]
top.to_csv(sm.output.top_classes, index=False)
save(missingness_classes_figure(classes, top), sm.output.classes_figure)
