import dataclasses

import pytest

from kit.engine.config import ConfigError, RunConfig

# 20 steps of batch_size * seq_len = 128 tokens
TINY = RunConfig(n_nonzero=1536, seq_len=16, batch_size=8, tokens=2560, eval_tokens=1024)


def test_the_default_config_is_valid():
    config = RunConfig()
    assert config.tokens % config.tokens_per_step == 0 and config.steps >= 10


@pytest.mark.parametrize("changes, message", [
    (dict(grad_clip=-1.0), "grad_clip=-1.0: must be > 0"),
    (dict(grad_clip=0), "grad_clip=0.0: must be > 0"),
    (dict(weight_decay=-5), "weight_decay=-5.0: must be >= 0"),
    (dict(seed=-1), "seed=-1: must be an int in [0, 2**63)"),
    (dict(seed=2**63), "seed=9223372036854775808: must be an int in [0, 2**63)"),
    (dict(seed=1.5), "seed=1.5: must be an int"),
    (dict(seed=True), "seed=True: must be an int"),
    (dict(lr=float("inf")), "lr=inf: must be a finite number"),
    (dict(lr=float("nan")), "lr=nan: must be a finite number"),
    (dict(lr="fast"), "lr='fast': must be a finite number"),
    (dict(n_layers=2.0), "n_layers=2.0: must be an int"),
    (dict(save_checkpoint=1), "save_checkpoint=1: must be True or False"),
    (dict(init_from="parent"), "init_from='parent': must be None or a run id (16 hex digits"),
    (dict(tokens=2600), "tokens=2600: not a whole number of steps of batch_size*seq_len = 8*16 = 128 tokens "
                        "(2600 / 128 = 20.31); use 2560 or 2688"),
    (dict(eval_tokens=1000), "eval_tokens=1000: not a whole number of windows of seq_len = 16 tokens "
                             "(1000 / 16 = 62.50); use 992 or 1008"),
])
def test_bad_values_are_refused_naming_field_value_and_what_is_allowed(changes, message):
    with pytest.raises(ConfigError) as err:
        TINY.replace(**changes)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_a_budget_of_partial_steps_is_refused_so_one_run_has_one_id():
    # 2600 tokens would train the 2560 tokens of 20 whole steps under another id than tokens=2560
    for tokens in (2561, 2600, 2687):
        with pytest.raises(ConfigError, match=f"tokens={tokens}: .* use 2560 or 2688"):
            TINY.replace(tokens=tokens)
    assert TINY.replace(tokens=2688).steps == 21 and TINY.steps == 20


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(RunConfig)])
def test_every_field_refuses_a_value_of_the_wrong_kind(field):
    kind = {f.name: f.type for f in dataclasses.fields(RunConfig)}[field]
    wrong = {"int": 1.5, "float": float("nan"), "bool": "yes", "str | None": 7,
             "tuple[int, int] | None": (2.5, 4)}.get(kind, "other")  # the rest are Literal choices
    with pytest.raises(ConfigError, match=f"^{field}="):
        TINY.replace(**{field: wrong})


def test_valid_edge_values_are_accepted():
    assert TINY.replace(weight_decay=0, grad_clip=1e9, seed=0).weight_decay == 0.0
    assert TINY.replace(seed=2**63 - 1, init_from="0123456789abcdef").seed == 2**63 - 1


def test_to_dict_is_the_dataclass_as_a_dict_with_nm_as_a_list():
    for config in (TINY, TINY.replace(sparsity=0.5, nm=(2, 4), init_from="0123456789abcdef")):
        expected = dataclasses.asdict(config)
        expected["nm"] = list(config.nm) if config.nm else None
        assert config.to_dict() == expected and RunConfig.from_dict(config.to_dict()) == config


def test_check_trainable_refuses_a_size_the_model_family_does_not_build():
    TINY.replace(n_nonzero=3072).check_trainable()
    with pytest.raises(ConfigError, match=r"^n_nonzero=1536 at sparsity=0.0: the model built would have N = 3072 "):
        TINY.check_trainable()  # valid as a config, but the narrowest model at 4 layers has N = 3,072
