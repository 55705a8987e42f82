import json
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from antispoof.models import (
    CNNLSTM,
    FrameCNN,
    InputNormalization,
    ModelConfig,
    PaperAttention,
    build_model,
    combined_loss,
    detect_layout,
    load_trunk_weights,
    read_state_dict,
    small_trunk,
    vgg16_trunk,
)
from antispoof.models.vgg import VGG16_STAGES
from antispoof.models.weights import TORCHVISION_BN_CONV_INDEX, TORCHVISION_CONV_INDEX, VGG16_CONV_NAMES

TINY = dict(trunk="small", trunk_channels=[4, 8, 8], image_size=[32, 32], num_frames=4, hidden_size=12, dropout=0.0)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def clips(b=2, t=4, size=32, seed=0):
    return torch.rand(b, t, 3, size, size, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------------- trunks


def test_vgg16_trunk_structure_and_pool5_shape():
    trunk = vgg16_trunk(batch_norm=True)
    convs = [m for m in trunk.modules() if isinstance(m, torch.nn.Conv2d)]
    pools = [m for m in trunk.modules() if isinstance(m, torch.nn.MaxPool2d)]
    bns = [m for m in trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(convs) == 13 and len(pools) == 5 and len(bns) == 13
    assert all(c.kernel_size == (3, 3) and c.padding == (1, 1) for c in convs)
    assert all(p.kernel_size == 2 and p.stride == 2 and not p.ceil_mode for p in pools)
    assert [c.out_channels for c in convs] == [c for stage in VGG16_STAGES for c in stage]
    assert [n for n, _ in trunk.conv_units()] == list(VGG16_CONV_NAMES)
    assert trunk.output_shape((224, 224)) == (512, 7, 7)  # pool5: 25088 features
    assert sum(p.numel() for c in convs for p in c.parameters()) == 14_714_688  # VGG-16 conv params
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in vgg16_trunk(batch_norm=False).modules())
    with torch.no_grad():
        assert trunk.eval()(torch.rand(1, 3, 64, 64)).shape == (1, 512, 2, 2)


def test_small_trunk_shapes_and_errors():
    trunk = small_trunk((8, 16, 16))
    assert trunk(torch.rand(3, 3, 48, 48)).shape == (3, 16, 6, 6)
    assert trunk.output_shape((112, 112)) == (16, 14, 14)
    with pytest.raises(ValueError, match="too small"):
        trunk.output_shape((4, 4))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        trunk(torch.rand(3, 48, 48))


# --------------------------------------------------------------------------------------- the models


@pytest.mark.parametrize("attention", ["paper", "soft", "none"])
def test_cnn_lstm_shapes_and_gradients_everywhere(attention):
    torch.manual_seed(0)
    model = build_model({**TINY, "attention": attention, "projection_dim": 10})
    assert isinstance(model, CNNLSTM) and model.feature_size == 8 * 4 * 4
    if attention == "paper":  # zero init = uniform weights; randomise to test the real computation
        torch.nn.init.normal_(model.attention.weight)
    x = clips().requires_grad_(True)
    out = model(x)
    assert out.logits.shape == (2, 2) and out.frame_logits.shape == (2, 4, 2) and out.attention.shape == (2, 4)
    assert out.scores.shape == (2,) and out.scores.dtype == torch.float32
    torch.testing.assert_close(out.scores, out.logits.softmax(-1)[:, 1])
    torch.testing.assert_close(out.attention.sum(1), torch.ones(2))
    model.loss(out, torch.tensor([0, 1]), lambda_cnn=0.7).total.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        if name == "attention.weight":
            # W_1 scores h_0 = 0 (Eq. 13 uses h_{i-1}), so only W_2..W_T receive gradient.
            assert p.grad[0].abs().sum() == 0 and p.grad[1:].abs().sum() > 0
        else:
            assert p.grad.abs().sum() > 0, name


def test_paper_attention_is_eq_12_13():
    torch.manual_seed(1)
    att = PaperAttention(num_frames=5, hidden_size=3)
    torch.nn.init.normal_(att.weight)
    h = torch.randn(2, 5, 3)
    context, alpha = att(h)
    # alpha_i = exp(W_i . h_{i-1}) / sum_j exp(W_j . h_{j-1}), h_0 = 0; c = sum_i alpha_i h_i
    for b in range(2):
        previous = [torch.zeros(3)] + [h[b, i - 1] for i in range(1, 5)]
        e = torch.stack([att.weight[i] @ previous[i] for i in range(5)])
        expected = torch.exp(e) / torch.exp(e).sum()
        torch.testing.assert_close(alpha[b], expected)
        torch.testing.assert_close(context[b], (expected[:, None] * h[b]).sum(0))
    torch.testing.assert_close(alpha.sum(1), torch.ones(2))
    assert (alpha > 0).all()
    # The logit of step 1 never depends on the sequence (h_0 = 0): changing W_1 changes nothing.
    with torch.no_grad():
        att.weight[0] += 5
    torch.testing.assert_close(att(h)[1], alpha)
    with pytest.raises(ValueError, match="num_frames=5"):
        att(torch.randn(2, 4, 3))


def test_paper_attention_model_rejects_other_clip_lengths_but_soft_accepts_them():
    with pytest.raises(ValueError, match="num_frames=4, got clips of 6 frames"):
        build_model({**TINY, "attention": "paper"})(clips(t=6))
    assert build_model({**TINY, "attention": "soft"})(clips(t=6)).attention.shape == (2, 6)


def test_no_attention_uses_the_last_hidden_state():
    torch.manual_seed(2)
    model = build_model({**TINY, "attention": "none"}).eval()
    x = clips()
    out = model(x)
    torch.testing.assert_close(out.attention, torch.tensor([[0.0, 0, 0, 1], [0, 0, 0, 1]]))
    with torch.no_grad():
        features = model.trunk(model.normalize(x.flatten(0, 1))).flatten(1).view(2, 4, -1)
        hidden, _ = model.lstm(features)
        torch.testing.assert_close(out.logits, model.classifier(hidden[:, -1]))


def test_lstm_input_is_the_flattened_last_pool_with_its_spatial_layout():
    # A spatial permutation of the pool features must change the LSTM input (no global pooling).
    model = build_model({**TINY, "attention": "soft"}).eval()
    assert model.lstm.input_size == 8 * 4 * 4 and model.projection is None
    seen = []
    model.lstm.register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    x = clips()
    with torch.no_grad():
        model(x)
        fmap = model.trunk(model.normalize(x.flatten(0, 1)))
    torch.testing.assert_close(seen[0], fmap.reshape(2, 4, 8, 4, 4).flatten(2))


def test_temporal_delta_feeds_the_lstm_each_frame_and_its_change():
    model = build_model({**TINY, "attention": "soft", "projection_dim": 6, "temporal_delta": True}).eval()
    assert model.lstm.input_size == 2 * 6
    seen = []
    model.lstm.register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    x = clips(b=3)
    with torch.no_grad():
        model(x)
        projected = model.projection(model.trunk(model.normalize(x.flatten(0, 1))).flatten(1)).view(3, 4, 6)
        model(x[:, :1].expand_as(x).contiguous())  # a clip whose frames are all the same
    torch.testing.assert_close(seen[0][..., :6], projected)
    torch.testing.assert_close(seen[0][:, 0, 6:], torch.zeros(3, 6))
    torch.testing.assert_close(seen[0][:, 1:, 6:], projected[:, 1:] - projected[:, :-1])
    assert seen[1][..., 6:].abs().max() == 0 and seen[1][..., :6].abs().max() > 0
    # without the projection the difference is taken on the flattened pool itself
    plain = build_model({**TINY, "temporal_delta": True})
    assert plain.lstm.input_size == 2 * 8 * 4 * 4
    with pytest.raises(ValueError, match="temporal_delta must be True or False"):
        build_model({**TINY, "temporal_delta": 1})


def test_motion_stream_feeds_the_lstm_features_of_the_frame_differences_only():
    model = build_model({**TINY, "attention": "soft", "temporal_delta": True, "motion_stream": 5}).eval()
    pool = 8 * 4 * 4
    assert model.lstm.input_size == 2 * pool + 5 * 16 and model.motion.out_features == 80
    seen = []
    model.lstm.register_forward_hook(lambda m, inp, out: seen.append(inp[0]))
    x = clips(b=3)
    with torch.no_grad():
        model(x)
        diff = torch.cat([torch.zeros_like(x[:, :1]), x.diff(dim=1)], dim=1)  # on the 0-1 input, frame 0: zero
        expected = model.motion.net(diff.flatten(0, 1)).view(3, 4, 80)
        model(x[:, :1].expand_as(x).contiguous())  # still clips of three different pictures
        model(torch.full_like(x, 0.3))  # and a flat grey one
    torch.testing.assert_close(seen[0][..., 2 * pool :], expected)
    # a still clip's motion features are those of a zero difference, whatever the picture: the stream
    # sees changes only (the appearance reaches the LSTM through the trunk)
    still = seen[1][..., 2 * pool :]
    torch.testing.assert_close(still, seen[2][..., 2 * pool :])
    torch.testing.assert_close(still, still[:1, :1].expand_as(still))
    assert (seen[0][:, 1:, 2 * pool :] - still[:, 1:]).abs().amax() > 1e-3
    # trained end to end, and saved and rebuilt from its config
    model.train()
    model.loss(model(x), torch.tensor([0, 1, 1])).total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.motion.parameters())
    rebuilt = build_model(model.config.to_dict(), load_weights=False)
    rebuilt.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x).logits, model.eval()(x).logits)
    frame_cnn = {"motion_stream": 4, "architecture": "frame_cnn"}
    for bad, message in (({"motion_stream": -1}, "motion_stream"), ({"motion_stream": 2.5}, "motion_stream"),
                         (frame_cnn, "needs architecture='cnn_lstm'")):  # fmt: skip
        with pytest.raises(ValueError, match=message):
            ModelConfig(**{**TINY, **bad})
    assert ModelConfig.from_dict({k: v for k, v in TINY.items()}).motion_stream == 0  # older runs: none


def test_combined_loss_equals_its_parts():
    torch.manual_seed(3)
    model = build_model({**TINY, "attention": "soft"})
    out = model(clips(b=3))
    labels = torch.tensor([1, 0, 1])
    terms = combined_loss(out, labels, lambda_cnn=0.3)
    lstm = F.cross_entropy(out.logits, labels)
    per_frame = [F.cross_entropy(out.frame_logits[b, t][None], labels[b][None]) for b in range(3) for t in range(4)]
    cnn = torch.stack(per_frame).mean()
    torch.testing.assert_close(terms.lstm, lstm)
    torch.testing.assert_close(terms.cnn, cnn)
    torch.testing.assert_close(terms.total, lstm + 0.3 * cnn)
    torch.testing.assert_close(model.loss(out, labels, lambda_cnn=0.0).total, lstm)
    # frame labels apart from clip labels (a live frame held still is an attack clip of live frames)
    frames = torch.tensor([1, 1, 1])
    split = combined_loss(out, labels, lambda_cnn=0.3, frame_labels=frames)
    per_frame = [F.cross_entropy(out.frame_logits[b, t][None], frames[b][None]) for b in range(3) for t in range(4)]
    torch.testing.assert_close(split.lstm, lstm)
    torch.testing.assert_close(split.cnn, torch.stack(per_frame).mean())
    torch.testing.assert_close(split.total, lstm + 0.3 * split.cnn)


def test_frame_cnn_scores_are_mean_frame_probabilities():
    torch.manual_seed(4)
    model = build_model({**TINY, "architecture": "frame_cnn"})
    assert isinstance(model, FrameCNN)
    x = clips(b=3, t=5)
    out = model(x)
    assert out.attention is None and out.frame_logits.shape == (3, 5, 2)
    torch.testing.assert_close(out.scores, out.frame_logits.softmax(-1)[..., 1].mean(1))
    terms = model.loss(out, torch.tensor([0, 1, 1]), lambda_cnn=10.0)
    assert terms.lstm is None
    torch.testing.assert_close(
        terms.total, F.cross_entropy(out.frame_logits.reshape(15, 2), torch.tensor([0] * 5 + [1] * 10))
    )
    terms.total.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert model(torch.rand(2, 1, 3, 40, 40)).scores.shape == (2,)  # single frames, any size


def test_input_normalization_modes():
    x = torch.rand(2, 3, 5, 5)
    mean = torch.tensor([129.186279296875, 104.76238250732422, 93.59396362304688]).view(3, 1, 1)
    torch.testing.assert_close(InputNormalization("vggface")(x), x * 255 - mean)
    imagenet = (x - torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(
        3, 1, 1
    )
    torch.testing.assert_close(InputNormalization("imagenet")(x), imagenet)
    assert InputNormalization("none")(x) is x
    assert build_model(TINY).config.normalization == "imagenet"  # documented choice for random init
    assert build_model({**TINY, "normalization": "none"}).normalize.mode == "none"
    assert not any(k.startswith("normalize.") for k in build_model(TINY).state_dict())  # mode lives in the config


def test_bad_inputs_and_configs():
    model = build_model(TINY)
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        model(torch.rand(4, 3, 32, 32))
    with pytest.raises(ValueError, match=r"image_size \(32, 32\)"):
        model(torch.rand(1, 4, 3, 48, 48))
    with pytest.raises(ValueError, match="float"):
        model(torch.zeros(1, 4, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unknown model config key"):
        build_model({"hiden_size": 3})
    with pytest.raises(ValueError, match="attention must be one of"):
        build_model({**TINY, "attention": "bahdanau"})
    with pytest.raises(ValueError, match="hidden_size"):
        build_model({**TINY, "hidden_size": 0})
    with pytest.raises(ValueError, match="trunk='vgg16'"):
        build_model({**TINY, "weights": "x.pth"})
    with pytest.raises(ValueError, match="too small"):
        build_model({**TINY, "image_size": [4, 4]})
    with pytest.raises(ValueError, match="image_size must be a sequence of ints"):
        build_model({**TINY, "image_size": "big"})
    with pytest.raises(ValueError, match=r"image_size must be \(H, W\)"):
        build_model({**TINY, "image_size": [32, 32, 3]})
    assert ModelConfig(image_size=112).image_size == (112, 112)


def test_config_round_trip_through_json():
    torch.manual_seed(5)
    config = {**TINY, "attention": "soft", "num_layers": 2, "projection_dim": 6, "temporal_delta": True}
    model = build_model(config).eval()
    saved = json.loads(json.dumps(model.config.to_dict()))
    assert ModelConfig.from_dict(saved) == model.config
    clone = build_model(saved, load_weights=False).eval()
    clone.load_state_dict(model.state_dict())
    x = clips()
    with torch.no_grad():
        torch.testing.assert_close(clone(x).logits, model(x).logits)
    assert build_model({}).config == ModelConfig().replace(normalization="imagenet")


# ------------------------------------------------------------------------------------------- weights


@pytest.fixture(scope="module")
def conv_tensors():
    """Random VGG-16 conv weights with the real shapes (14.7 M floats), in forward order."""
    g = torch.Generator().manual_seed(7)
    tensors, cin = [], 3
    for cout in (c for stage in VGG16_STAGES for c in stage):
        tensors.append((torch.randn(cout, cin, 3, 3, generator=g) * 0.01, torch.randn(cout, generator=g)))
        cin = cout
    return tensors


def vggface_state(conv_tensors):
    state = {}
    for name, (w, b) in zip(VGG16_CONV_NAMES, conv_tensors):
        state[f"{name}.weight"], state[f"{name}.bias"] = w, b
    # fc layers with deliberately wrong (small) shapes, and fc6 as a conv as in some conversions: ignored.
    state.update(
        {
            "fc6.weight": torch.zeros(8, 512, 7, 7),
            "fc6.bias": torch.zeros(8),
            "fc7.weight": torch.zeros(3, 3),
            "fc7.bias": torch.zeros(3),
            "fc8.weight": torch.zeros(2, 3),
            "fc8.bias": torch.zeros(2),
        }
    )
    return state


def torchvision_state(conv_tensors, bn=False):
    state = {}
    indices = TORCHVISION_BN_CONV_INDEX if bn else TORCHVISION_CONV_INDEX
    for k, (n, (w, b)) in enumerate(zip(indices, conv_tensors)):
        state[f"features.{n}.weight"], state[f"features.{n}.bias"] = w, b
        if bn:
            c = w.shape[0]
            state[f"features.{n + 1}.weight"] = torch.full((c,), 1.0 + k)
            state[f"features.{n + 1}.bias"] = torch.full((c,), 0.5)
            state[f"features.{n + 1}.running_mean"] = torch.full((c,), 0.25)
            state[f"features.{n + 1}.running_var"] = torch.full((c,), 2.0)
            state[f"features.{n + 1}.num_batches_tracked"] = torch.tensor(100)
    state.update({"classifier.0.weight": torch.zeros(4, 4), "classifier.6.bias": torch.zeros(1000)})
    return state


def assert_convs_equal(trunk, conv_tensors):
    for (_, unit), (w, b) in zip(trunk.conv_units(), conv_tensors, strict=True):
        assert torch.equal(unit.conv.weight, w) and torch.equal(unit.conv.bias, b)


def test_load_vggface_layout_from_file(tmp_path, conv_tensors):
    path = tmp_path / "vgg_face_dag.pth"
    torch.save(vggface_state(conv_tensors), path)
    model = build_model(
        {"trunk": "vgg16", "image_size": [64, 64], "num_frames": 2, "hidden_size": 4, "weights": str(path)}
    )
    assert model.config.weights_layout == "vggface" and model.config.normalization == "vggface"
    assert model.normalize.mode == "vggface"
    assert_convs_equal(model.trunk, conv_tensors)
    bn = model.trunk.conv_units()[0][1].bn  # BN stays at identity init: VGG-Face has none
    assert torch.equal(bn.weight, torch.ones(64)) and torch.equal(bn.running_var, torch.ones(64))
    # A run directory rebuilds from the resolved config without the weights file.
    path.unlink()
    assert build_model(model.config.to_dict(), load_weights=False).config == model.config


def test_load_torchvision_layouts(tmp_path, conv_tensors):
    trunk = vgg16_trunk(batch_norm=False)
    assert load_trunk_weights(trunk, torchvision_state(conv_tensors)) == "torchvision"
    assert_convs_equal(trunk, conv_tensors)

    path = tmp_path / "vgg16_bn.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in torchvision_state(conv_tensors, bn=True).items()}}, path)
    assert detect_layout(read_state_dict(path)) == "torchvision_bn"
    trunk = vgg16_trunk(batch_norm=True)
    assert load_trunk_weights(trunk, path) == "torchvision_bn"
    assert_convs_equal(trunk, conv_tensors)
    for k, (_, unit) in enumerate(trunk.conv_units()):
        assert torch.all(unit.bn.weight == 1.0 + k) and torch.all(unit.bn.running_var == 2.0)
    with pytest.raises(ValueError, match="batch_norm=True"):
        load_trunk_weights(vgg16_trunk(batch_norm=False), path)

    model = build_model({"image_size": [64, 64], "num_frames": 2, "hidden_size": 4, "weights": str(path)})
    assert model.config.weights_layout == "torchvision_bn" and model.normalize.mode == "imagenet"


def test_weight_loading_errors(tmp_path, conv_tensors):
    trunk = vgg16_trunk(batch_norm=False)
    before = trunk.conv_units()[0][1].conv.weight.clone()

    state = vggface_state(conv_tensors)
    del state["conv4_2.bias"]
    with pytest.raises(ValueError, match=r"missing key 'conv4_2\.bias' \(expected shape \(512,\)\)"):
        load_trunk_weights(trunk, state)
    assert torch.equal(trunk.conv_units()[0][1].conv.weight, before)  # nothing copied on failure

    state = vggface_state(conv_tensors)
    state["conv3_1.weight"] = torch.zeros(256, 64, 3, 3)
    with pytest.raises(ValueError, match=r"'conv3_1\.weight' has shape \(256, 64, 3, 3\), expected \(256, 128, 3, 3\)"):
        load_trunk_weights(trunk, state)

    state = torchvision_state(conv_tensors)
    state["features.30.weight"] = torch.zeros(512, 512, 3, 3)  # a VGG-19 has more convs
    with pytest.raises(ValueError, match="features.30.weight"):
        load_trunk_weights(trunk, state)

    with pytest.raises(ValueError, match="unrecognised weights layout"):
        load_trunk_weights(trunk, {"backbone.conv.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="vgg16 trunk"):
        load_trunk_weights(small_trunk(), vggface_state(conv_tensors))

    text = tmp_path / "weights.txt"
    text.write_text("these are not weights\n")
    with pytest.raises(ValueError, match="not a loadable PyTorch state dict"):
        read_state_dict(text)
    evil = tmp_path / "random.pkl"
    evil.write_bytes(pickle.dumps(np.random.default_rng(0)))  # a pickle of a non-tensor object
    with pytest.raises(ValueError, match="not a loadable PyTorch state dict"):
        read_state_dict(evil)
    a_list = tmp_path / "list.pt"
    torch.save([torch.zeros(3)], a_list)
    with pytest.raises(ValueError, match="does not hold a state dict"):
        read_state_dict(a_list)
    with pytest.raises(FileNotFoundError):
        read_state_dict(tmp_path / "missing.pth")


# ------------------------------------------------------------------------------------------ pulse features


def test_pulse_features_widen_the_classifier_and_are_standardised_by_the_stored_statistics():
    torch.manual_seed(0)
    plain = build_model(TINY).eval()
    torch.manual_seed(0)
    model = build_model({**TINY, "pulse_features": True}).eval()
    assert plain.classifier.in_features == 12 and model.classifier.in_features == 12 + 9
    assert "pulse_mean" not in plain.state_dict() and model.state_dict()["pulse_std"].shape == (9,)
    # the option only adds at the end: every other weight is drawn as without it
    for key, value in plain.state_dict().items():
        if not key.startswith("classifier"):
            assert torch.equal(value, model.state_dict()[key]), key
    x = clips()
    rng = np.random.default_rng(0)
    train = rng.normal([1, 2, 3, 0.5, 0.5, 0.5, 4, 0.5, 10], [1, 1, 1, 0.1, 0.1, 0.1, 2, 0.1, 5], size=(20, 9))
    model.set_pulse_statistics(train)
    np.testing.assert_allclose(model.pulse_mean.numpy(), train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(model.pulse_std.numpy(), train.std(axis=0, ddof=1), rtol=1e-5)
    p0 = torch.as_tensor(train[:2], dtype=torch.float32)
    p1 = p0 + torch.arange(1.0, 10.0)
    with torch.no_grad():
        w = model.classifier.weight[:, 12:].clone()
        d = model(x, p1).logits - model(x, p0).logits
    # logits are linear in the standardised features: the difference is W_pulse (p1 - p0) / std
    expected = ((p1 - p0) / model.pulse_std) @ w.T
    torch.testing.assert_close(d, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"takes pulse features \(B, 9\) = \(2, 9\), got None"):
        model(x)
    with pytest.raises(ValueError, match=r"got \(2, 8\)"):
        model(x, p0[:, :8])
    with pytest.raises(ValueError, match=r"takes no pulse features"):
        plain(x, p0)
    with pytest.raises(ValueError, match=r"takes no pulse features"):
        plain.set_pulse_statistics(train)
    with pytest.raises(ValueError, match=r"pulse statistics need finite \(N >= 2, 9\) features, got \(1, 9\)"):
        model.set_pulse_statistics(train[:1])
    with pytest.raises(ValueError, match="pulse_features needs architecture='cnn_lstm'"):
        build_model({**TINY, "architecture": "frame_cnn", "pulse_features": True})
    with pytest.raises(ValueError, match="pulse_features must be True or False"):
        ModelConfig(pulse_features="yes")
    assert ModelConfig.from_dict({}).pulse_features is False  # configs of older runs lack the key
    assert ModelConfig.from_dict(ModelConfig(pulse_features=True).to_dict()).pulse_features is True


def test_without_the_option_the_outputs_are_those_of_before():
    # Logits of this seed-0 model on this input, computed with the code before pulse_features existed.
    torch.manual_seed(0)
    config = {"trunk": "small", "trunk_channels": [4, 4, 4, 4], "hidden_size": 8, "image_size": [32, 32],
              "num_frames": 4, "attention": "paper"}  # fmt: skip
    model = build_model(config).eval()
    x = torch.rand(2, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(x).logits
    before = [[0.2873292565345764, -0.05433454364538193], [0.28673887252807617, -0.05404701828956604]]
    torch.testing.assert_close(logits, torch.tensor(before), rtol=0, atol=1e-6)
