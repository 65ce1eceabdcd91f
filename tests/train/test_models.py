"""Input/Output modules and baseline models: shapes from the layout, masking, sampling, recurrence."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from neural_mmo.config import make_config  # noqa: E402
from neural_mmo.envs.vector import VecEnv  # noqa: E402
from neural_mmo.observe.layout import ObsLayout  # noqa: E402
from neural_mmo.train.io import MASKED, log_prob_entropy, sample, to_tensors  # noqa: E402
from neural_mmo.train.models import Base, Recurrent, Simple, make_model, reset_state  # noqa: E402


def _observations(config, worlds=2, ticks=3, seed=0):
    env = VecEnv(worlds, config=config, seed=seed)
    obs, _ = env.reset()
    for _ in range(ticks):
        obs, *_ = env.step(np.zeros((env.num_slots, env.n_heads), np.int64))
    rows = np.flatnonzero(env.alive)
    return {k: v[rows].copy() for k, v in obs.items()}, env.layout


CONFIGS = {
    "small": make_config("small"),
    "other sizes": make_config(
        "small", observe__vision_radius=5, observe__n_entities=9, spawn__n_populations=3
    ),
    "window not a multiple of 3": make_config("small", observe__vision_radius=4, observe__n_entities=4),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("model_name", ["simple", "recurrent"])
def test_shapes_follow_the_layout(name, model_name):
    """The same model code fits any crop size, entity count and population count."""
    torch.manual_seed(0)
    obs, layout = _observations(CONFIGS[name])
    model = make_model(model_name, layout, hidden=32)
    logits, value, state = model(to_tensors(obs))
    B = len(obs["tiles"])
    assert [tuple(lg.shape) for lg in logits] == [(B, h.size) for h in layout.heads]
    assert value.shape == (B,)
    assert (state is None) == (model_name == "simple")
    assert all(torch.isfinite(lg).all() for lg in logits)


def test_masked_logits_are_exactly_masked():
    torch.manual_seed(0)
    obs, layout = _observations(CONFIGS["small"])
    logits, _, _ = Simple(layout)(to_tensors(obs))
    mask = obs["action_mask"]
    for lg, offset, size in zip(logits, layout.action_offsets, layout.action_sizes):
        allowed = mask[:, offset : offset + size].astype(bool)
        assert (lg.detach().numpy()[~allowed] == MASKED).all()
        assert (lg.detach().numpy()[allowed] > MASKED / 2).all()
        probs = torch.softmax(lg, 1).detach().numpy()
        assert (probs[~allowed] == 0).all()


def test_a_masked_action_is_never_sampled():
    """20,000 draws per row over random masks and logits: never a masked value, and the
    frequencies follow the softmax of the allowed values."""
    gen = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    rows, size, draws = 8, 13, 20_000
    logits = torch.randn(rows, size, generator=gen) * 2
    allowed = torch.rand(rows, size, generator=gen) < 0.4
    allowed[:, 0] = True
    allowed[3, size - 1] = False  # the last value masked (the inverse-CDF edge)
    allowed[4] = False
    allowed[4, 0] = True  # only the no-op
    masked = logits.masked_fill(~allowed, MASKED)
    counts = torch.zeros(rows, size)
    for _ in range(draws // 500):
        picks = sample([masked.repeat(500, 1)])[:, 0].view(500, rows)
        counts += torch.nn.functional.one_hot(picks, size).sum(0)
    assert counts[~allowed].sum() == 0
    expected = torch.softmax(masked, 1) * draws
    assert torch.allclose(counts, expected, atol=4 * expected.sqrt().max().item() + 1)
    greedy = sample([masked], greedy=True)[:, 0]
    assert torch.equal(greedy, masked.argmax(1))


def test_log_prob_and_entropy_of_masked_heads():
    logits = [torch.tensor([[0.0, MASKED, 0.0]]), torch.tensor([[1.0, MASKED]])]
    log_prob, entropy = log_prob_entropy(logits, torch.tensor([[2, 0]]))
    assert log_prob.item() == pytest.approx(np.log(0.5))
    assert entropy.item() == pytest.approx(np.log(2))


def test_entity_heads_score_rows_by_attention():
    """Permuting the entity rows (and the attack mask with them) permutes the attack logits."""
    torch.manual_seed(0)
    obs, layout = _observations(CONFIGS["small"], ticks=1)
    model = Simple(layout).eval()
    E = layout.n_entities
    perm = np.concatenate([[0], 1 + np.random.default_rng(0).permutation(E - 1)])
    shuffled = dict(obs)
    shuffled["entities"] = obs["entities"][:, perm]
    shuffled["entity_mask"] = obs["entity_mask"][:, perm]
    off = int(layout.action_offsets[1])
    attack = obs["action_mask"][:, off + 1 :].reshape(-1, 3, E)
    shuffled["action_mask"] = obs["action_mask"].copy()
    shuffled["action_mask"][:, off + 1 :] = attack[:, :, perm].reshape(len(attack), -1)
    # the attention pooling sees a permuted set: the same pooled vector, so the same hidden
    a, _, _ = model(to_tensors(obs))
    b, _, _ = model(to_tensors(shuffled))
    torch.testing.assert_close(b[1][:, 1:].view(-1, 3, E), a[1][:, 1:].view(-1, 3, E)[:, :, perm])
    torch.testing.assert_close(b[0], a[0])


def test_forward_sequence_restarts_state_where_agents_spawn():
    torch.manual_seed(0)
    obs, layout = _observations(CONFIGS["small"], ticks=2)
    model = Recurrent(layout, hidden=16).eval()
    T, B = 5, 4
    rows = np.arange(T * B).reshape(T, B) % len(obs["tiles"])
    seq = {k: torch.from_numpy(v[rows]) for k, v in obs.items()}
    starts = torch.zeros(T, B, dtype=torch.bool)
    starts[2, 1] = starts[0, 3] = starts[4, 0] = True
    state0 = (torch.randn(B, 16), torch.randn(B, 16))
    with torch.no_grad():
        _, values = model.forward_sequence(seq, state0, starts)
        state, manual = state0, []
        for t in range(T):
            state = reset_state(state, starts[t], model.initial_state(B))
            _, v, state = model({k: x[t] for k, x in seq.items()}, state)
            manual.append(v)
    torch.testing.assert_close(values, torch.cat(manual))
    # a restarted slot forgets: its value equals that of a zero state
    with torch.no_grad():
        _, fresh, _ = model({k: x[0] for k, x in seq.items()}, model.initial_state(B))
    assert values[3].item() == pytest.approx(fresh[3].item(), abs=1e-6)


def test_base_requires_hidden():
    layout = ObsLayout(CONFIGS["small"])
    obs, _ = _observations(CONFIGS["small"], ticks=0)
    with pytest.raises(NotImplementedError, match="hidden"):
        Base(layout)(to_tensors(obs))


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'transformer'"):
        make_model("transformer", ObsLayout(CONFIGS["small"]))


def test_patch_kernel_gradient_equals_the_embedding_bag_gradient():
    from neural_mmo.train.models import _SumOfRows

    gen = torch.Generator().manual_seed(0)
    index = torch.randint(0, 40, (300, 9), generator=gen)
    weight = torch.randn(40, 8, generator=gen, requires_grad=True)
    reference = weight.detach().clone().requires_grad_(True)
    upstream = torch.randn(300, 8, generator=gen)
    (_SumOfRows.apply(index, weight) * upstream).sum().backward()
    (torch.nn.functional.embedding_bag(index, reference, mode="sum") * upstream).sum().backward()
    torch.testing.assert_close(weight.grad, reference.grad)


@pytest.mark.parametrize("model_name", ["simple", "recurrent"])
def test_attention_over_attributes_fits_the_layout_and_learns(model_name):
    """``attributes="attention"``: entity vectors by attention over the row's attributes; the same
    heads and masks, and every parameter of the attention gets a gradient."""
    torch.manual_seed(0)
    obs, layout = _observations(CONFIGS["other sizes"])
    model = make_model(model_name, layout, hidden=32, attributes="attention")
    assert not hasattr(model.input, "linear_attributes")
    logits, value, _ = model(to_tensors(obs))
    B = len(obs["tiles"])
    assert [tuple(lg.shape) for lg in logits] == [(B, h.size) for h in layout.heads]
    mask = obs["action_mask"].astype(bool)
    for lg, offset, size in zip(logits, layout.action_offsets, layout.action_sizes):
        assert (lg.detach().numpy()[~mask[:, offset : offset + size]] == MASKED).all()
    (value.sum() + sum(lg.clamp(min=-10).sum() for lg in logits)).backward()
    attention = model.input.attend_attributes
    for name, p in attention.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("heads", [1, 2])
def test_attribute_attention_is_attention_over_attribute_tokens(heads):
    """The encoder's shortcut (scores and values from the token parts, tokens never built) gives
    what attention over explicit tokens gives; the weights are a softmax over the row's attributes
    and move with the values."""
    from neural_mmo.train.io import AttributeAttention

    torch.manual_seed(0)
    attention = AttributeAttention(np.zeros(3), np.array([10.0, 10.0, 100.0]), dim=8, heads=heads)
    x = torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 90.0]])
    linear = x * attention.linear_scale
    log = torch.sign(x) * torch.log1p(x.abs()) * attention.log_scale
    e, u, w = attention.tokens
    tokens = e + linear.unsqueeze(-1) * u + log.unsqueeze(-1) * w  # [2 rows, 3 attributes, 8]
    weights = torch.softmax(attention.key(tokens), dim=-2)  # [2 rows, 3 attributes, heads]
    assert torch.allclose(weights.sum(dim=1), torch.ones(2, heads))
    assert not torch.allclose(weights[0], weights[1])
    values = attention.value(tokens).view(2, 3, heads, 8 // heads)
    expected = torch.einsum("rnh,rnhd->rhd", weights, values).reshape(2, 8)
    assert torch.allclose(attention(x), expected, atol=1e-6)


def test_an_unknown_attribute_encoder_is_refused():
    from neural_mmo.config import ConfigError
    from neural_mmo.train.config import TrainConfig

    with pytest.raises(ValueError, match="attributes: 'mean' is not one of sum, attention"):
        make_model("simple", ObsLayout(CONFIGS["small"]), attributes="mean")
    with pytest.raises(ConfigError, match="attributes: 'mean'"):
        TrainConfig(attributes="mean")


@pytest.mark.parametrize("model_name", ["simple", "recurrent"])
def test_buy_is_scored_by_attention_over_each_agents_world_market(model_name):
    """The market is embedded once per world and gathered per agent: permuting its rows (and the
    buy mask with them) permutes the buy logits; a row's price moves its own logit only, in the
    worlds that publish it; without the table the head still has its shape."""
    from neural_mmo.envs.vector import WORLD_INDEX, with_tables
    from neural_mmo.observe.heads import ActionHead
    from neural_mmo.train.io import batch_of

    torch.manual_seed(0)
    cfg = make_config("small", item__enabled=True, exchange__enabled=True)
    env = VecEnv(2, config=cfg, seed=0)
    env.reset()
    S = env.slots_per_world
    obs = with_tables(env, env.observations)
    model = make_model(model_name, env.layout).eval()
    rows = np.array([0, 1, S, S + 2])
    batch = batch_of(obs, rows, model.input.table_views)
    assert batch["market"].shape == (2, *env.market.shape[1:])  # one table per world, not per agent
    assert batch[WORLD_INDEX].tolist() == [0, 0, 1, 1]
    batch["action_mask"] = torch.ones_like(batch["action_mask"])  # every logit visible
    state = model.initial_state(len(rows))
    logits, _, _ = model(batch, state)
    buy = logits[ActionHead.BUY]
    # a price in world 1's row 5: agents of world 1 see buy value 6 move, nothing else moves
    priced = dict(batch, market=batch["market"].clone())
    priced["market"][1, 5, 2] = 40
    moved = (model(priced, state)[0][ActionHead.BUY] - buy).abs() > 1e-6
    assert moved[2:, 6].all() and moved.sum() == 2
    # permuting world 0's rows permutes its agents' logits
    perm = torch.from_numpy(np.random.default_rng(1).permutation(env.market.shape[1]))
    permuted = dict(batch, market=batch["market"].clone())
    permuted["market"][0] = batch["market"][0, perm]
    out = model(permuted, state)[0][ActionHead.BUY]
    torch.testing.assert_close(out[:2, 1:], buy[:2, 1:][:, perm])
    without = {k: v for k, v in batch.items() if k not in ("market", WORLD_INDEX)}
    assert model(without, state)[0][ActionHead.BUY].shape == buy.shape
