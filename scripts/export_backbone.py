#!/usr/bin/env python3
"""Export a vision backbone to ONNX for Feature Studio, with a ready manifest.

    python scripts/export_backbone.py clip-vit-b16 --blocks 10,11 --out backbones/clip-b16
    python scripts/export_backbone.py dinov2-vit-b14-reg --blocks -2 --out backbones/dinov2-b14-reg

Writes OUT/model.onnx and OUT/manifest.json (the format of resources/manifests/*.json). The
graph has one input, `pixel_values` ([batch, 3, 224, 224]; [batch, 16, 3, 224, 224] for
VideoMAE), and one output per chosen block, `block_i` = the residual stream after transformer
block i (Hugging Face `hidden_states[i + 1]`, before any final norm), plus `last_hidden_state`.
Block indices may be negative like saev's `layers`: on a 12-block ViT, -2 is block_10.

Needs: torch, transformers (>= 4.47 for the DINOv2-with-registers models), numpy, and
onnxruntime for the built-in check (skip it with --no-check). Weights download from the Hugging
Face Hub on first use; --model-id accepts a local folder instead.

Why the export is done this way (see README, "Exporting a backbone"):
- eager attention: the SDPA kernel exports differently across torch versions; eager attention
  exports as plain MatMul/Softmax that every onnxruntime execution provider runs;
- fixed 224x224 and opset 17: position embeddings are tied to the token grid, and the studio
  feeds exactly the manifest's input size;
- dynamic batch only: the indexer picks its batch size at run time;
- DINOv2: its position embeddings were trained for a 37x37 grid (518 px) and are bicubically
  interpolated to the input's grid on every forward. We compute that interpolation once, in
  PyTorch, for 224 (16x16 patches) and replace the interpolation with the result, so the graph
  holds the interpolated table as a constant instead of a Resize op (opset 17's Resize cannot
  express every mode torch uses, e.g. antialiasing, and would silently differ).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

SIZE = 224
OPSET = 17

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class Family:
    key: str
    model_id: str
    name: str
    family: str
    loader: str  # transformers class name
    patch_size: int
    cls: bool
    registers: int
    frames: int | None = None  # video backbones: frames per clip
    tubelet: int | None = None  # video backbones: frames per token

    @property
    def grid(self) -> int:
        return SIZE // self.patch_size


FAMILIES = {
    f.key: f
    for f in [
        Family("clip-vit-b16", "openai/clip-vit-base-patch16", "CLIP ViT-B/16 (OpenAI)", "clip", "CLIPVisionModel", 16, True, 0),
        Family("dinov2-vit-s14", "facebook/dinov2-small", "DINOv2 ViT-S/14", "dinov2", "AutoModel", 14, True, 0),
        Family("dinov2-vit-b14", "facebook/dinov2-base", "DINOv2 ViT-B/14", "dinov2", "AutoModel", 14, True, 0),
        Family("dinov2-vit-s14-reg", "facebook/dinov2-with-registers-small", "DINOv2 ViT-S/14 with registers", "dinov2", "AutoModel", 14, True, 4),
        Family("dinov2-vit-b14-reg", "facebook/dinov2-with-registers-base", "DINOv2 ViT-B/14 with registers", "dinov2", "AutoModel", 14, True, 4),
        Family("videomae-vit-b", "MCG-NJU/videomae-base", "VideoMAE ViT-B (16 frames)", "videomae", "VideoMAEModel", 16, False, 0, frames=16, tubelet=2),
    ]
}


def fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def parse_blocks(text: str, depth: int) -> list[int]:
    """'10,11', '-2' (saev style: counted from the end) or 'all' -> sorted block indices."""
    if text == "all":
        return list(range(depth))
    blocks = set()
    for part in text.split(","):
        part = part.strip()
        try:
            i = int(part)
        except ValueError:
            fail(f"--blocks expects comma-separated integers or 'all', got {text!r}")
        j = i + depth if i < 0 else i
        if not 0 <= j < depth:
            fail(f"block {i} is out of range: this model has {depth} blocks (0..{depth - 1}, or -1..-{depth})")
        blocks.add(j)
    return sorted(blocks)


def load_model(family: Family, model_id: str):
    import transformers

    cls = getattr(transformers, family.loader)
    try:
        # Eager attention: see the module docstring. Older transformers lack the argument.
        model = cls.from_pretrained(model_id, attn_implementation="eager")
    except TypeError:
        print("warning: this transformers version has no attn_implementation; using its default attention", file=sys.stderr)
        model = cls.from_pretrained(model_id)
    return model.float().eval()


def bake_dinov2_position_embeddings(model, family: Family):
    """Replaces the per-forward bicubic interpolation of DINOv2's position embeddings by its
    result for a 224x224 input, computed here in PyTorch with the model's own code."""
    import torch

    embeddings = model.embeddings
    if not hasattr(embeddings, "interpolate_pos_encoding"):
        fail(f"{type(embeddings).__name__} has no interpolate_pos_encoding; this transformers version is not supported")
    tokens = 1 + family.grid * family.grid  # CLS + patches (registers are added after the position embeddings)
    probe = torch.zeros(1, tokens, model.config.hidden_size)
    with torch.no_grad():
        baked = embeddings.interpolate_pos_encoding(probe, SIZE, SIZE).detach().clone()
    if tuple(baked.shape) != (1, tokens, model.config.hidden_size):
        fail(f"interpolated position embeddings have shape {tuple(baked.shape)}, expected (1, {tokens}, {model.config.hidden_size})")

    def baked_pos_encoding(emb, height, width):
        if int(height) != SIZE or int(width) != SIZE:
            raise ValueError(f"position embeddings were baked for {SIZE}x{SIZE}, got {height}x{width}")
        return baked.to(emb.dtype)

    # An instance attribute shadows the method: forward() calls self.interpolate_pos_encoding.
    embeddings.interpolate_pos_encoding = baked_pos_encoding


class HiddenStates:
    """nn.Module factory: pixel_values -> (block_i..., last_hidden_state)."""

    @staticmethod
    def build(model, blocks: list[int]):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, pixel_values):
                out = self.model(pixel_values=pixel_values, output_hidden_states=True, return_dict=True)
                hidden = out.hidden_states
                if len(hidden) != model.config.num_hidden_layers + 1:
                    raise RuntimeError(f"expected {model.config.num_hidden_layers + 1} hidden states, got {len(hidden)}")
                outputs = [hidden[i + 1] for i in blocks] + [out.last_hidden_state]
                # The same tensor twice (CLIP's last_hidden_state is the last block's output)
                # would become one ONNX value with two names; a copy keeps two outputs.
                seen: set[int] = set()
                unique = []
                for t in outputs:
                    unique.append(t.clone() if id(t) in seen else t)
                    seen.add(id(t))
                return tuple(unique)

        return Wrapper().eval()


def input_shape(family: Family, batch: int) -> tuple[int, ...]:
    if family.frames:
        return (batch, family.frames, 3, SIZE, SIZE)
    return (batch, 3, SIZE, SIZE)


def export(wrapper, family: Family, names: list[str], path: Path, opset: int) -> None:
    import torch

    dummy = torch.randn(*input_shape(family, 2))  # batch 2: a traced batch of 1 can hide broadcasting bugs
    kwargs = dict(
        input_names=["pixel_values"],
        output_names=names,
        dynamic_axes={"pixel_values": {0: "batch"}, **{n: {0: "batch"} for n in names}},
        opset_version=opset,
        do_constant_folding=True,
    )
    # torch >= 2.9 defaults to the dynamo exporter, which ignores dynamic_axes and emits
    # opset 18+; the TorchScript exporter gives the opset-17 graph described above.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False
    with torch.no_grad():
        torch.onnx.export(wrapper, (dummy,), str(path), **kwargs)


def check(path: Path, names: list[str], reference: list, x) -> float:
    """Runs the ONNX file on x (batch 3, not the traced batch) and returns the max abs diff."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(names, {"pixel_values": x.numpy()})
    worst = 0.0
    for name, want, have in zip(names, reference, got):
        if tuple(have.shape) != tuple(want.shape):
            fail(f"ONNX output {name} has shape {have.shape}, PyTorch gives {tuple(want.shape)}")
        diff = float(np.abs(have - want.numpy()).max())
        print(f"  {name:18s} {tuple(have.shape)}  max |onnx - torch| = {diff:.2e}")
        worst = max(worst, diff)
    return worst


def manifest(family: Family, blocks: list[int], d_model: int, depth: int) -> dict:
    layers = {f"block_{i}": f"block_{i}" for i in blocks}
    layers["last_hidden_state"] = "last_hidden_state"
    convention = (
        f"block_i is the residual stream after transformer block i (Hugging Face hidden_states[i + 1]), before the final norm; "
        f"saev's layers=[-2] is block_{depth - 2}."
    )
    if family.family == "clip":
        preprocess = dict(resize="shortest-side", resize_to=SIZE, interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD)
        notes = f"OpenAI CLIP preprocessing (open_clip / saev): shortest side to 224 bicubic, centre crop 224. {convention}"
    elif family.family == "dinov2":
        preprocess = dict(resize="squash", resize_to=256, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD)
        regs = f"CLS, then {family.registers} register tokens, then" if family.registers else "CLS, then"
        notes = (
            "saev preprocessing: squash to 256x256 (torchvision Resize default, bilinear), centre crop 224. Hugging Face's DINOv2 "
            "image processor instead resizes the shortest side to 256 (bicubic) and crops 224: for SAEs trained on HF activations "
            f"set input.resize to 'shortest-side' and input.interpolation to 'bicubic'. Tokens: {regs} the 16x16 patch grid. "
            f"Position embeddings are baked for 224. {convention}"
        )
    else:
        preprocess = dict(resize="shortest-side", resize_to=SIZE, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD)
        notes = (
            f"Clip backbone: input [batch, {family.frames}, 3, 224, 224]; tokens are {family.frames // family.tubelet}x{family.grid}x{family.grid} "
            f"tubelets of {family.tubelet} frames, no CLS, in (time, row, column) order, described by tokens.frames and "
            f"tokens.tubelet. {convention}"
        )
    tokens = dict(cls=family.cls, registers=family.registers, patch_size=family.patch_size, grid=[family.grid, family.grid])
    if family.frames:
        tokens.update(frames=family.frames, tubelet=family.tubelet)
    return {
        "name": family.name,
        "family": family.family,
        "model": "model.onnx",
        "input": {"name": "pixel_values", "size": SIZE, **{k: preprocess[k] for k in ("resize", "resize_to", "interpolation")}, "crop": SIZE,
                  "mean": preprocess["mean"], "std": preprocess["std"]},
        "tokens": tokens,
        "layers": layers,
        "d_model": d_model,
        "notes": notes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("family", choices=sorted(FAMILIES), help="which backbone")
    parser.add_argument("--blocks", default="all", help="blocks to output: '10,11', -2 (from the end, like saev; write several negative ones as --blocks=-2,-1) or 'all' (default)")
    parser.add_argument("--out", required=True, type=Path, help="folder for model.onnx and manifest.json")
    parser.add_argument("--model-id", help="Hugging Face id or local folder (default: the family's official checkpoint)")
    parser.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch comparison")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max abs diff the check accepts (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed: pip install torch transformers onnxruntime numpy")
    family = FAMILIES[args.family]
    torch.manual_seed(args.seed)
    model = load_model(family, args.model_id or family.model_id)
    depth = model.config.num_hidden_layers
    d_model = model.config.hidden_size
    blocks = parse_blocks(args.blocks, depth)
    if model.config.patch_size != family.patch_size:
        fail(f"{args.model_id} has patch size {model.config.patch_size}, but {family.key} expects {family.patch_size}")

    names = [f"block_{i}" for i in blocks] + ["last_hidden_state"]
    # The check input: a batch size other than the traced one, so a baked-in batch shows up.
    x = torch.randn(*input_shape(family, 3))
    with torch.no_grad():
        # Reference from the unmodified model (DINOv2 still interpolating at run time), so the
        # check also covers the baked position embeddings.
        reference = list(HiddenStates.build(model, blocks)(x))

    if family.family == "dinov2":
        bake_dinov2_position_embeddings(model, family)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    print(f"exporting {family.name} ({args.model_id or family.model_id}), blocks {blocks}, opset {args.opset} -> {onnx_path}")
    export(HiddenStates.build(model, blocks), family, names, onnx_path, args.opset)

    manifest_path = args.out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest(family, blocks, d_model, depth), indent=2) + "\n")
    print(f"wrote {manifest_path}")
    if family.frames:
        print("note: a clip backbone (tokens.frames, tokens.tubelet): index clips with studio index --kind videos")

    if args.no_check:
        print("skipped the onnxruntime check (--no-check)")
        return
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        fail("onnxruntime is not installed, so the export cannot be checked: pip install onnxruntime (or pass --no-check)")
    print("onnxruntime vs PyTorch on a random batch of 3:")
    worst = check(onnx_path, names, reference, x)
    if worst > args.tolerance:
        fail(f"max abs diff {worst:.2e} exceeds --tolerance {args.tolerance:g}; the export does not reproduce PyTorch")
    print(f"ok: max abs diff {worst:.2e}")


if __name__ == "__main__":
    main()
