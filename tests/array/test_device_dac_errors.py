"""The weight DAC's measured static errors (INL per code, gain error) in ``DacSpec.quantize``."""

from __future__ import annotations

import numpy as np
import pytest

from pbitkit.array.device import DacSpec, HardwareConfig
from pbitkit.errors import ConfigError


def test_ideal_levels_unchanged_without_errors():
    x = np.array([-1.3, -0.26, 0.0, 0.11, 0.5, 0.97])
    d = DacSpec(bits=3, full_scale=1.0)
    np.testing.assert_array_equal(d.quantize(x), np.array([-1.0, -1 / 3, 0.0, 0.0, 2 / 3, 1.0]))


def test_inl_and_gain_error_move_each_code_to_its_measured_level():
    inl = (0.3, 0.1, -0.2, 0.05)          # codes 0..3 (code 0's entry is not applied)
    d = DacSpec(bits=3, full_scale=3.0, inl_lsb=inl, gain_error_rel=0.02)
    x = np.array([-3.0, -1.2, 0.0, 0.9, 2.1, 5.0])
    k = np.array([-3, -1, 0, 1, 2, 3])
    expect = 1.0 * 1.02 * (k + np.sign(k) * np.array(inl)[np.abs(k)])
    np.testing.assert_allclose(d.quantize(x), expect, rtol=1e-12)
    # negative control: the same codes on the ideal DAC differ by the INL
    assert np.max(np.abs(DacSpec(bits=3, full_scale=3.0).quantize(x) - expect)) > 0.1


def test_dac_errors_round_trip_through_config():
    cfg = HardwareConfig.from_dict({"weight_dac": {"bits": 2, "full_scale": 1.0, "gain_error_rel": -0.01,
                                                   "inl_lsb": [0.0, 0.02]}})
    assert cfg.weight_dac.inl_lsb == (0.0, 0.02) and cfg.weight_dac.gain_error_rel == -0.01


@pytest.mark.parametrize("kw, field", [
    (dict(bits=3, inl_lsb=(0.0, 0.1)), "inl_lsb"),                # wrong length
    (dict(bits=None, inl_lsb=(0.0,)), "inl_lsb"),                 # ideal DAC has no codes
    (dict(bits=3, inl_lsb=(0.0, float("nan"), 0.0, 0.0)), "inl_lsb"),
    (dict(bits=3, gain_error_rel=0.7), "gain_error_rel"),
])
def test_bad_dac_errors_name_the_field(kw, field):
    with pytest.raises(ConfigError, match=field):
        DacSpec(**kw)
