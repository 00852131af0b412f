"""The unit table: UCUM, USGS and local spellings of one unit give one size; anything else is refused."""

from __future__ import annotations

import pytest

from responder.domain.stations import convert


@pytest.mark.parametrize(("unit", "quantity", "value", "expected"), [
    ("ft3/s", "flow_m3s", 35.3146667, 1.0), ("[ft_i]3/s", "flow_m3s", 35.3146667, 1.0),
    ("ft³/s", "flow_m3s", 35.3146667, 1.0), ("cfs", "flow_m3s", 35.3146667, 1.0),
    ("kcfs", "flow_m3s", 1.0, 28.316846592), ("cumec", "flow_m3s", 2.5, 2.5), ("m3.s-1", "flow_m3s", 2.5, 2.5),
    ("L/s", "flow_m3s", 2500, 2.5), ("in", "rain_mm", 1.0, 25.4), ("[in_i]", "rain_mm", 1.0, 25.4),
    ("cm", "stage_m", 455, 4.55), ("[ft_us]", "stage_m", 3937, 1200.0), ("Mm3", "storage_mcm", 2.0, 2.0),
    ("hm3", "storage_mcm", 2.0, 2.0), ("acre-ft", "storage_mcm", 1000, 1.23348183754752),
    ("万m3", "storage_mcm", 100, 1.0), ("10^6 m^3", "storage_mcm", 1.0, 1.0),
])
def test_spellings_of_one_unit(unit: str, quantity: str, value: float, expected: float) -> None:
    assert convert(value, unit, quantity) == pytest.approx(expected, rel=1e-6)  # type: ignore[arg-type]


@pytest.mark.parametrize(("unit", "quantity"), [("mm3", "storage_mcm"), ("mph", "flow_m3s"), ("mm/h", "rain_mm"),
                                                ("ft3/s", "stage_m"), ("furlong", "stage_m"), ("deg C", "stage_m")])
def test_a_unit_that_does_not_measure_the_quantity_is_refused(unit: str, quantity: str) -> None:
    with pytest.raises(ValueError, match=f"wrong unit {unit!r} for {quantity}"):
        convert(1.0, unit, quantity)  # type: ignore[arg-type]
