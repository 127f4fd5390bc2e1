"""How probabilities are printed: percentages that never read as certain and that compare
honestly with small thresholds ("1.2%" against "0.92%", never "0%" against "0%").
"""

from __future__ import annotations

import math


def pct(x: float) -> str:
    """A probability as a percentage with enough digits to compare it with small thresholds.

    "1.2%" vs "0.92%", never "0%" vs "0%" when tau is tiny. A photo never reads as certain:
    a calibrated model is wrong about some of the photos it scores at 99.9%, so anything
    that would round to 100% reads ">99%", and a positive value too small to print "<0.01%".
    """
    if not math.isfinite(x):
        return "n/a"
    if x >= 0.995:
        return ">99%"
    if x == 0 or x >= 0.1:
        return f"{x:.0%}"
    if x < 1e-4:
        return "<0.01%"
    return f"{x * 100:.2g}%"


def pct_pair(x: float, ref: float) -> tuple[str, str]:
    """:func:`pct` of a value and of the threshold it is compared with.

    Adds digits until unequal numbers print unequal: "1.25% is below 1.26%", never "1.3% is
    below 1.3%". ">99%" stays as it is.
    """
    a, b = pct(x), pct(ref)
    if a != b or a == ">99%" or x == ref or not math.isfinite(x + ref):
        return a, b
    for digits in range(3, 8):
        a, b = (f"{v * 100:.{digits}g}%" for v in (x, ref))
        if a != b:
            break
    return a, b
