#!/usr/bin/env python3
"""Random-weight speech encoders as Hugging Face folders, with their hidden states computed by the
oracle, torchaudio 0.13.1 (Debian 12's python3-torchaudio, python3-torch, python3-numpy).

    scripts/make_encoder_fixtures.py tests/fixtures/encoders
        the committed tiny fixtures: three models, each a layout that occurs in the wild, and their
        hidden states on three clips (0.5 s, 3 s, 20 s; the 20 s one every 25th frame)
    scripts/make_encoder_fixtures.py --size base|large OUT_DIR
        the same for real sizes (wav2vec2-base: 95 M parameters; -large: 317 M), every frame
        kept; for bench/encoder_parity.sh, not committed

Models (HF names, the key layout torchaudio's import_huggingface_model maps):
  w2v2-group-postln   wav2vec2, group-norm extractor, post-LN, no conv bias, raw input,
                      model.safetensors F32, plain keys (Wav2Vec2Model)
  hubert-layer-preln  HuBERT, layer-norm extractor, pre-LN ("stable"), conv bias, normalised
                      input, model.safetensors BF16, "hubert." prefix + a classifier head
  w2v2-layer-preln    wav2vec2, layer-norm extractor, pre-LN, conv bias, normalised input,
                      pytorch_model.bin (torch.save zip), "wav2vec2." prefix + lm_head
References (ref.npz, one per model): "<clip>/cnn" (extractor output), "<clip>/h0".."<clip>/hL"
(Hugging Face hidden_states: h0 the transformer input, hL after the final layer norm of a pre-LN
encoder), "<clip>/stride" (rows kept: every stride-th frame). BF16 weights are rounded first and
the references use the rounded weights. The clips are integer noise + a 100 Hz sawtooth made by
clip_samples() below, which tests/support/encoder_clips.hpp repeats exactly.
WavLM is not here: torchaudio 0.13.1 has no WavLM (its reference is ../shared/reference/encoders).
"""
import argparse
import json
import os
import struct

import numpy as np
import torch
import torchaudio

CLIPS = [("c05", 8000, 1), ("c30", 48000, 2), ("c200", 320000, 3)]  # name, samples (16 kHz), seed


def clip_samples(n, seed):
    """int16 samples from integer arithmetic only (an LCG and a sawtooth), so C++ makes the same."""
    out = np.empty(n, dtype=np.int32)
    state = seed
    for i in range(n):
        state = (1103515245 * state + 12345) % 2147483648
        a = (state >> 16) & 0x7FFF
        b = (i * 7) % 160
        env = (i // 1600) % 5 + 1
        out[i] = (a // 4 + b * 60) * env // 5 - 8866
    return out.astype(np.float32) / 32768.0


def sizes(size):
    if size == "tiny":
        return dict(hidden=32, layers=2, heads=4, inter=64, conv=[16] * 7, pos=16, groups=4)
    if size == "base":
        return dict(hidden=768, layers=12, heads=12, inter=3072, conv=[512] * 7, pos=128, groups=16)
    return dict(hidden=1024, layers=24, heads=16, inter=4096, conv=[512] * 7, pos=128, groups=16)


def build(kind, size):
    s = sizes(size)
    group = kind == "w2v2-group-postln"
    kernel, stride = [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]
    model = torchaudio.models.wav2vec2_model(
        "group_norm" if group else "layer_norm", list(zip(s["conv"], kernel, stride)), not group, s["hidden"], 0.0,
        s["pos"], s["groups"], s["layers"], s["heads"], 0.0, s["inter"], 0.0, 0.0, not group, 0.0, None).eval()
    g = torch.Generator().manual_seed(sum(map(ord, kind + size)))
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if "layer_norm.weight" in name:
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight_g"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 if p.dim() == 1 else fan_in ** -0.5))
    model_type = "hubert" if kind.startswith("hubert") else "wav2vec2"
    config = {"model_type": model_type, "architectures": [("Hubert" if model_type == "hubert" else "Wav2Vec2") + "Model"],
              "hidden_size": s["hidden"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
              "intermediate_size": s["inter"], "hidden_act": "gelu", "feat_extract_activation": "gelu",
              "feat_extract_norm": "group" if group else "layer", "conv_dim": s["conv"], "conv_kernel": kernel,
              "conv_stride": stride, "conv_bias": not group, "do_stable_layer_norm": not group,
              "num_conv_pos_embeddings": s["pos"], "num_conv_pos_embedding_groups": s["groups"], "layer_norm_eps": 1e-5}
    if model_type == "hubert":
        config["feat_proj_layer_norm"] = True
    return model, config, not group  # do_normalize for the layer-norm layouts, as their real checkpoints


def hf_state(model, prefix, hidden):
    """torchaudio names -> Hugging Face names (the inverse of import_huggingface_model's mapping)."""
    out = {}
    for k, v in model.state_dict().items():
        if k.startswith("encoder.feature_projection."):
            k = k[len("encoder."):]
        elif k.startswith("encoder.transformer."):
            k = "encoder." + k[len("encoder.transformer."):]
        out[prefix + k] = v.detach().clone()
    out[prefix + "masked_spec_embed"] = torch.rand(hidden)  # in real checkpoints, unused at inference
    return out


def bf16_round(t):
    """float32 -> the nearest bfloat16 (round to nearest even), kept as float32, and its raw bits."""
    bits = t.contiguous().view(torch.int32).numpy().astype(np.uint32)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    back = torch.from_numpy((rounded.astype(np.uint32) << 16).view(np.float32).copy())
    return back, rounded


def write_safetensors(path, tensors, dtype):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        raw = t.numpy().astype("<f4").tobytes() if dtype == "F32" else bf16_round(t)[1].astype("<u2").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def hidden_states(model, samples, normalize, stable):
    x = torch.from_numpy(samples)[None]
    if normalize:
        x = (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)
    with torch.inference_mode():
        cnn, _ = model.feature_extractor(x, None)
        t = model.encoder.transformer
        proj = model.encoder.feature_projection(cnn)
        hs = [t._preprocess(proj)] + t.get_intermediate_outputs(proj)
        if stable:
            hs[-1] = t.layer_norm(hs[-1])
    return cnn[0].numpy(), [y[0].numpy() for y in hs]


def make(kind, size, out_dir, keep_every):
    model, config, normalize = build(kind, size)
    prefix = {"w2v2-group-postln": "", "hubert-layer-preln": "hubert.", "w2v2-layer-preln": "wav2vec2."}[kind]
    state = hf_state(model, prefix, config["hidden_size"])
    folder = os.path.join(out_dir, kind)
    os.makedirs(folder, exist_ok=True)
    if kind == "hubert-layer-preln":
        state["classifier.weight"] = torch.randn(4, config["hidden_size"])
        state["classifier.bias"] = torch.zeros(4)
        # The model computes with the rounded weights, as a reader of the BF16 file does.
        ta = {k: v for k, v in model.state_dict().items()}
        for k in ta:
            ta[k] = bf16_round(ta[k].float())[0].view(ta[k].shape)
        model.load_state_dict(ta)
        write_safetensors(os.path.join(folder, "model.safetensors"), state, "BF16")
    elif kind == "w2v2-layer-preln":
        state["lm_head.weight"] = torch.randn(8, config["hidden_size"])
        state["lm_head.bias"] = torch.zeros(8)
        torch.save(state, os.path.join(folder, "pytorch_model.bin"))
    else:
        write_safetensors(os.path.join(folder, "model.safetensors"), state, "F32")
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump({"do_normalize": normalize, "sampling_rate": 16000, "feature_size": 1}, f)
    ref = {}
    for name, n, seed in CLIPS:
        cnn, hs = hidden_states(model, clip_samples(n, seed), normalize, config["do_stable_layer_norm"])
        step = keep_every if n > 100000 else 1
        ref[f"{name}/stride"] = np.array([step], dtype=np.int64)
        ref[f"{name}/cnn"] = cnn[::step].astype(np.float32)
        for k, h in enumerate(hs):
            ref[f"{name}/h{k}"] = h[::step].astype(np.float32)
    np.savez_compressed(os.path.join(folder, "ref.npz"), **ref)
    params = sum(p.numel() for p in model.parameters())
    print(f"{folder}: {params} parameters, {len(hs)} hidden states")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size", choices=["tiny", "base", "large"], default="tiny")
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    kinds = ["w2v2-group-postln", "hubert-layer-preln", "w2v2-layer-preln"]
    if a.size != "tiny":  # base: the group-norm post-LN layout; large: the layer-norm pre-LN one
        kinds = ["w2v2-group-postln"] if a.size == "base" else ["w2v2-layer-preln"]
    for kind in kinds:
        make(kind, a.size, a.out, 25 if a.size == "tiny" else 1)


if __name__ == "__main__":
    main()
