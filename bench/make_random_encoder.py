#!/usr/bin/env python3
"""Writes a Hugging Face wav2vec2 folder of the base size (12 layers, 768 wide, 95 M parameters)
with seeded random float32 weights, for timing only: config.json, preprocessor_config.json and
model.safetensors (written by hand: an 8-byte header length, the JSON header, the raw bytes).
    bench/make_random_encoder.py OUT_DIR"""
import json
import os
import struct
import sys

import numpy as np

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
h, layers, heads, inter = 768, 12, 12, 3072
conv_dim, kernel, stride = [512] * 7, [10, 3, 3, 3, 3, 2, 2], [5, 2, 2, 2, 2, 2, 2]
config = {"model_type": "wav2vec2", "architectures": ["Wav2Vec2Model"], "hidden_size": h,
          "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": inter,
          "hidden_act": "gelu", "feat_extract_activation": "gelu", "feat_extract_norm": "group",
          "conv_dim": conv_dim, "conv_kernel": kernel, "conv_stride": stride, "conv_bias": False,
          "do_stable_layer_norm": False, "num_conv_pos_embeddings": 128,
          "num_conv_pos_embedding_groups": 16, "layer_norm_eps": 1e-5}
shapes = {}
for i in range(7):
    shapes[f"feature_extractor.conv_layers.{i}.conv.weight"] = [conv_dim[i], 1 if i == 0 else conv_dim[i - 1], kernel[i]]
shapes["feature_extractor.conv_layers.0.layer_norm.weight"] = [512]
shapes["feature_extractor.conv_layers.0.layer_norm.bias"] = [512]
shapes["feature_projection.layer_norm.weight"] = [512]
shapes["feature_projection.layer_norm.bias"] = [512]
shapes["feature_projection.projection.weight"] = [h, 512]
shapes["feature_projection.projection.bias"] = [h]
shapes["encoder.pos_conv_embed.conv.weight_g"] = [1, 1, 128]
shapes["encoder.pos_conv_embed.conv.weight_v"] = [h, h // 16, 128]
shapes["encoder.pos_conv_embed.conv.bias"] = [h]
shapes["encoder.layer_norm.weight"] = [h]
shapes["encoder.layer_norm.bias"] = [h]
for l in range(layers):
    p = f"encoder.layers.{l}."
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[p + f"attention.{proj}.weight"] = [h, h]
        shapes[p + f"attention.{proj}.bias"] = [h]
    for ln in ("layer_norm", "final_layer_norm"):
        shapes[p + ln + ".weight"] = [h]
        shapes[p + ln + ".bias"] = [h]
    shapes[p + "feed_forward.intermediate_dense.weight"] = [inter, h]
    shapes[p + "feed_forward.intermediate_dense.bias"] = [inter]
    shapes[p + "feed_forward.output_dense.weight"] = [h, inter]
    shapes[p + "feed_forward.output_dense.bias"] = [h]
rng = np.random.default_rng(0)
header, blobs, offset = {}, [], 0
for name, shape in shapes.items():
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    a = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype("<f4")
    if name.endswith("layer_norm.weight"):
        a = np.ones(shape, "<f4")
    b = a.tobytes()
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
head = json.dumps(header).encode()
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(head)))
    f.write(head)
    for b in blobs:
        f.write(b)
json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
json.dump({"do_normalize": True, "sampling_rate": 16000}, open(os.path.join(out, "preprocessor_config.json"), "w"))
print(out, sum(int(np.prod(s)) for s in shapes.values()), "parameters")
