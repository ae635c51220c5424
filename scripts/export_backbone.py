#!/usr/bin/env python3
"""Export a vision backbone to ONNX for Feature Studio, with a ready manifest.

    python scripts/export_backbone.py clip-vit-b16 --blocks 10,11 --out backbones/clip-b16
    python scripts/export_backbone.py dinov2-vit-b14-reg --blocks -2 --out backbones/dinov2-b14-reg

Families: CLIP ViT-B/16, SigLIP ViT-B/16, DINOv2 ViT-S/14 and ViT-B/14 with and without
registers, VideoMAE ViT-B (run with --help for the keys).

Writes OUT/model.onnx and OUT/manifest.json (the format of resources/manifests/*.json). The
graph has one input, `pixel_values` ([batch, 3, 224, 224]; [batch, 16, 3, 224, 224] for
VideoMAE), and one output per chosen block, `block_i` = the residual stream after transformer
block i (Hugging Face `hidden_states[i + 1]`, before any final norm), plus `last_hidden_state`.
Block indices may be negative like saev's `layers`: on a 12-block ViT, -2 is block_10.

Needs: torch, transformers (>= 4.47 for the DINOv2-with-registers models), numpy, and
onnxruntime for the built-in check (skip it with --no-check). Weights download from the Hugging
Face Hub on first use; --model-id accepts a local folder instead, and --config builds the
architecture from a config JSON with random weights (tests and benchmarks; no download).

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

SIZE = 224  # default input side; --size changes it (DINOv2 interpolates, others must match the config)
OPSET = 17

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
SIGLIP_MEAN = [0.5, 0.5, 0.5]
SIGLIP_STD = [0.5, 0.5, 0.5]


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
    frames: int | None = None  # video backbones: frames per clip (the checkpoint's config.num_frames wins)
    tubelet: int | None = None  # video backbones: frames per token (config.tubelet_size wins)


FAMILIES = {
    f.key: f
    for f in [
        Family("clip-vit-b16", "openai/clip-vit-base-patch16", "CLIP ViT-B/16 (OpenAI)", "clip", "CLIPVisionModel", 16, True, 0),
        Family("siglip-vit-b16", "google/siglip-base-patch16-224", "SigLIP ViT-B/16 (224)", "siglip", "SiglipVisionModel", 16, False, 0),
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


def hide_broken_torchvision() -> None:
    """transformers imports torchvision whenever it is installed; a torchvision built for another
    torch (e.g. a CUDA wheel next to a CPU torch) then fails inside `import transformers` with
    "operator torchvision::nms does not exist", although no backbone here needs it. Marking it
    absent (None in sys.modules makes importlib report "not installed") lets the export go on."""
    if "torchvision" in sys.modules and sys.modules["torchvision"] is None:
        return  # already hidden
    try:
        import torchvision  # noqa: F401
    except Exception as err:  # RuntimeError from its C ops, ImportError, ...
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        sys.modules["torchvision"] = None  # type: ignore[assignment]
        print(f"warning: ignoring torchvision, which does not load with this torch ({str(err).splitlines()[0]})", file=sys.stderr)


def load_model(family: Family, model_id: str | None, config_path: Path | None = None):
    """The checkpoint `model_id`, or with `config_path` the architecture of that config JSON with
    random weights (torch's seed decides them)."""
    hide_broken_torchvision()
    import transformers

    cls = getattr(transformers, family.loader)
    if config_path is not None:
        data = json.loads(config_path.read_text())
        model_type = data.pop("model_type", None)
        if not model_type:
            fail(f"{config_path} has no model_type (e.g. clip_vision_model, siglip_vision_model, dinov2, dinov2_with_registers, videomae)")
        config = transformers.AutoConfig.for_model(model_type, **data)
        # Eager attention, as for checkpoints (see the module docstring).
        config._attn_implementation = "eager"
        model = cls.from_config(config) if hasattr(cls, "from_config") else cls._from_config(config)
        return model.float().eval()
    try:
        # Eager attention: see the module docstring. Older transformers lack the argument.
        model = cls.from_pretrained(model_id, attn_implementation="eager")
    except TypeError:
        print("warning: this transformers version has no attn_implementation; using its default attention", file=sys.stderr)
        model = cls.from_pretrained(model_id)
    return model.float().eval()


@dataclass(frozen=True)
class Geometry:
    """What the export is fixed to: input side, patch, and for clips frames and tubelet."""

    size: int
    patch: int
    frames: int | None = None
    tubelet: int | None = None

    @property
    def grid(self) -> int:
        return self.size // self.patch


def geometry(family: Family, config, size: int | None) -> Geometry:
    """Checks the model against the family and picks the input size. DINOv2 interpolates its
    position embeddings to any grid (default 224); the others hold a table for exactly
    config.image_size, so that is their size."""
    patch = config.patch_size
    if patch != family.patch_size:
        fail(f"this checkpoint has patch size {patch}, but {family.key} expects {family.patch_size}")
    native = int(config.image_size)
    if family.family == "dinov2":
        size = size or SIZE
    elif size and size != native:
        fail(f"{family.key} position embeddings are fixed for {native}x{native} (config.image_size); --size {size} is not supported")
    else:
        size = native
    if size % patch:
        fail(f"--size {size} is not a multiple of the patch size {patch}")
    frames = tubelet = None
    if family.frames:
        frames = int(getattr(config, "num_frames", family.frames))
        tubelet = int(getattr(config, "tubelet_size", family.tubelet))
    return Geometry(size, patch, frames, tubelet)


def bake_dinov2_position_embeddings(model, geo: Geometry):
    """Replaces the per-forward bicubic interpolation of DINOv2's position embeddings by its
    result for the export's input size, computed here in PyTorch with the model's own code."""
    import torch

    embeddings = model.embeddings
    if not hasattr(embeddings, "interpolate_pos_encoding"):
        fail(f"{type(embeddings).__name__} has no interpolate_pos_encoding; this transformers version is not supported")
    tokens = 1 + geo.grid * geo.grid  # CLS + patches (registers are added after the position embeddings)
    probe = torch.zeros(1, tokens, model.config.hidden_size)
    with torch.no_grad():
        baked = embeddings.interpolate_pos_encoding(probe, geo.size, geo.size).detach().clone()
    if tuple(baked.shape) != (1, tokens, model.config.hidden_size):
        fail(f"interpolated position embeddings have shape {tuple(baked.shape)}, expected (1, {tokens}, {model.config.hidden_size})")

    def baked_pos_encoding(emb, height, width):
        if int(height) != geo.size or int(width) != geo.size:
            raise ValueError(f"position embeddings were baked for {geo.size}x{geo.size}, got {height}x{width}")
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


def input_shape(geo: Geometry, batch: int) -> tuple[int, ...]:
    if geo.frames:
        return (batch, geo.frames, 3, geo.size, geo.size)
    return (batch, 3, geo.size, geo.size)


def export(wrapper, geo: Geometry, names: list[str], path: Path, opset: int) -> None:
    import torch

    dummy = torch.randn(*input_shape(geo, 2))  # batch 2: a traced batch of 1 can hide broadcasting bugs
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


def manifest(family: Family, geo: Geometry, blocks: list[int], d_model: int, depth: int) -> dict:
    layers = {f"block_{i}": f"block_{i}" for i in blocks}
    layers["last_hidden_state"] = "last_hidden_state"
    size, grid = geo.size, geo.grid
    convention = (
        f"block_i is the residual stream after transformer block i (Hugging Face hidden_states[i + 1]), before the final norm; "
        f"saev's layers=[-2] is block_{depth - 2}."
    )
    if family.family == "clip":
        preprocess = dict(resize="shortest-side", resize_to=size, interpolation="bicubic", mean=CLIP_MEAN, std=CLIP_STD)
        notes = f"OpenAI CLIP preprocessing (open_clip / saev): shortest side to {size} bicubic, centre crop {size}. {convention}"
    elif family.family == "siglip":
        # SiglipImageProcessor resizes both sides to the input size (bicubic), no crop, mean/std 0.5.
        preprocess = dict(resize="squash", resize_to=size, interpolation="bicubic", mean=SIGLIP_MEAN, std=SIGLIP_STD)
        notes = (
            f"SigLIP preprocessing (Hugging Face SiglipImageProcessor): squash to {size}x{size} bicubic, mean/std 0.5. Tokens: the "
            f"{grid}x{grid} patch grid, no CLS (SigLIP pools with an attention head). last_hidden_state is after the post-layernorm. {convention}"
        )
    elif family.family == "dinov2":
        # saev squashes to 256 before cropping 224: keep that ratio for other sizes.
        resize_to = round(size * 256 / 224)
        preprocess = dict(resize="squash", resize_to=resize_to, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD)
        regs = f"CLS, then {family.registers} register tokens, then" if family.registers else "CLS, then"
        notes = (
            f"saev preprocessing: squash to {resize_to}x{resize_to} (torchvision Resize default, bilinear), centre crop {size}. Hugging Face's DINOv2 "
            f"image processor instead resizes the shortest side to {resize_to} (bicubic) and crops {size}: for SAEs trained on HF activations "
            f"set input.resize to 'shortest-side' and input.interpolation to 'bicubic'. Tokens: {regs} the {grid}x{grid} patch grid. "
            f"Position embeddings are baked for {size}. {convention}"
        )
    else:
        preprocess = dict(resize="shortest-side", resize_to=size, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD)
        notes = (
            f"Clip backbone: input [batch, {geo.frames}, 3, {size}, {size}]; tokens are {geo.frames // geo.tubelet}x{grid}x{grid} "
            f"tubelets of {geo.tubelet} frames, no CLS, in (time, row, column) order, described by tokens.frames and "
            f"tokens.tubelet. {convention}"
        )
    tokens = dict(cls=family.cls, registers=family.registers, patch_size=geo.patch, grid=[grid, grid])
    if geo.frames:
        tokens.update(frames=geo.frames, tubelet=geo.tubelet)
    return {
        "name": family.name,
        "family": family.family,
        "model": "model.onnx",
        "input": {"name": "pixel_values", "size": size, **{k: preprocess[k] for k in ("resize", "resize_to", "interpolation")}, "crop": size,
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
    parser.add_argument("--config", type=Path, help="config JSON (with model_type): random weights from --seed instead of a checkpoint, for tests and benchmarks")
    parser.add_argument("--size", type=int, help=f"input side in pixels (DINOv2: default {SIZE}, position embeddings baked for it; others: their config's image_size)")
    parser.add_argument("--opset", type=int, default=OPSET, help=f"ONNX opset (default {OPSET})")
    parser.add_argument("--no-check", action="store_true", help="skip the onnxruntime-vs-PyTorch comparison")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="max abs diff the check accepts (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.config and args.model_id:
        parser.error("--config and --model-id exclude each other")

    try:
        import torch
    except ImportError:
        fail("PyTorch is not installed: pip install torch transformers onnxruntime numpy")
    family = FAMILIES[args.family]
    source = str(args.config) if args.config else args.model_id or family.model_id
    torch.manual_seed(args.seed)
    model = load_model(family, source, args.config)
    depth = model.config.num_hidden_layers
    d_model = model.config.hidden_size
    blocks = parse_blocks(args.blocks, depth)
    geo = geometry(family, model.config, args.size)

    names = [f"block_{i}" for i in blocks] + ["last_hidden_state"]
    # The check input: a batch size other than the traced one, so a baked-in batch shows up.
    x = torch.randn(*input_shape(geo, 3))
    with torch.no_grad():
        # Reference from the unmodified model (DINOv2 still interpolating at run time), so the
        # check also covers the baked position embeddings.
        reference = list(HiddenStates.build(model, blocks)(x))

    if family.family == "dinov2":
        bake_dinov2_position_embeddings(model, geo)
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "model.onnx"
    print(f"exporting {family.name} ({source}), {geo.size}x{geo.size}, blocks {blocks}, opset {args.opset} -> {onnx_path}")
    export(HiddenStates.build(model, blocks), geo, names, onnx_path, args.opset)

    manifest_path = args.out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest(family, geo, blocks, d_model, depth), indent=2) + "\n")
    print(f"wrote {manifest_path}")
    if geo.frames:
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
