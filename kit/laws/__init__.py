"""Scaling laws, sparse training costs and optimal sparsity (Frantar et al. 2024, Jin et al. 2025).

Equation numbers refer to Frantar et al., "Scaling Laws for Sparsely-Connected Foundation Models"
(ICLR 2024). Notation: S sparsity in [0, 1); N non-zero parameters at the end of training; D training
data (tokens for T5, images for ViT); C training FLOPs, C = k N D c_mul(S) with k flops per parameter
and token (6, or 3 for an encoder-decoder such as T5). A set of coefficients is a dict with the keyword
names of `sparse_law`, so `sparse_law(S, N, D, **coeffs)` and `gain(S, **coeffs)` work. A `Law` is such a
dict that also carries its k, the range of the runs it was fitted on and its bootstrap samples;
`TABLE7` holds the paper's, and every function that needs k takes a Law's own unless given one.

Every function is a plain function of numpy arrays and broadcasts over its array arguments.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

COEFF_NAMES = ("a_S", "b_S", "c_S", "b_N", "a_D", "b_D", "c")
RANGE_NAMES = ("S", "N", "D")
DEFAULT_K = 6  # FLOPs per parameter and token of a plain coefficient dict: 6ND (Kaplan et al. 2020)
LAWS_DIR = Path(__file__).resolve().parents[2] / "data" / "laws"  # law files, bootstrap samples (scripts/fit_laws.py)


class Law(dict):
    """A fitted sparse law: its seven coefficients as a dict (keys COEFF_NAMES), so it goes wherever a
    coefficient dict does (`sparse_law(S, N, D, **law)`), and as attributes what using it needs:

      name     what it is, e.g. "T5/C4 law (Table 7)"
      k        FLOPs per non-zero parameter and token of its model family (6; 3 for the encoder-decoder
               T5: "6ND ... or half for encoder-decoder architecture models", Section 3.3)
      data     the range of the runs it was fitted on: {"S": (lowest, highest), "N": ..., "D": ...}
               ({} if unknown), for the planner's range warnings
      samples  a CSV of bootstrap refits of those runs, one row per resample (None if there is none)

    A copy (dict(law), {**law, "c": 1.0}) is a plain dict again, with k = DEFAULT_K.

        Law(TABLE7["t5"], name="T5/C4", k=3.0)  # Law"""

    def __init__(self, coeffs, *, name: str, k: float, data=None, samples=None):
        if set(coeffs) != set(COEFF_NAMES):
            raise ValueError(f"law {name!r}: needs exactly the coefficients {', '.join(COEFF_NAMES)}; "
                             f"got {', '.join(coeffs)}")
        if k is None:
            raise ValueError(f"law {name!r} states no k, the FLOPs per non-zero parameter and token")
        super().__init__({c: float(coeffs[c]) for c in COEFF_NAMES})
        self.name, self.k, self.data = name, flops_per_token(None, k), _check_range(name, data or {})
        self.samples = None if samples is None else Path(samples)


def _check_range(name, data) -> dict:
    """{quantity: (lowest, highest)} for quantities in RANGE_NAMES, as floats with lowest <= highest."""
    if not isinstance(data, dict):
        raise ValueError(f"law {name!r}: data range {data!r}; expected a dict of {', '.join(RANGE_NAMES)} mapped to "
                         f"[lowest, highest]")
    out = {}
    for key, bounds in data.items():
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError):
            low = high = math.nan
        if key not in RANGE_NAMES or not (math.isfinite(low) and math.isfinite(high) and low <= high):
            raise ValueError(f"law {name!r}: data range {key!r}: {bounds!r}; expected one of {', '.join(RANGE_NAMES)} "
                             f"mapped to [lowest, highest]")
        out[key] = (low, high)
    return out


def flops_per_token(coeffs, k=None) -> float:
    """k, the FLOPs per non-zero parameter and token of C = k N D c_mul(S): k if given, else the law's
    own (a Law), else DEFAULT_K (a plain dict of coefficients).

        flops_per_token(TABLE7["t5"])  # 3"""
    k = getattr(coeffs, "k", DEFAULT_K) if k is None else k
    if isinstance(k, bool) or not (isinstance(k, (int, float, np.number)) and math.isfinite(k) and k > 0):
        raise ValueError(f"k={k!r}: FLOPs per parameter and token must be a finite number > 0")
    return float(k)


# The runs behind each row of Table 7 (kit.fit.paper's tables; tests/test_laws.py checks the numbers):
# T5/C4 48 runs, N 1.3M to 85M non-zeros, 16B to 66B tokens; ViT/JFT 112 runs, N 0.66M to 42M, 225M to 1.8B images.
T5_DATA = {"S": (0.0, 0.875), "N": (1_327_104.0, 84_934_656.0), "D": (16_384_000_000.0, 65_536_000_000.0)}
VIT_DATA = {"S": (0.0, 0.9375), "N": (663_552.0, 42_467_328.0), "D": (225_000_000.0, 1_800_000_000.0)}

# Appendix C, Table 7. D counts images for ViT/JFT and tokens for T5/C4. Each unstructured row is a Law
# whose samples are 200 refits of the authors' runs by kit.fit.fitting (for T5 they centre on the book's
# refit, not on Table 7: see data/laws/README.md). The n:m row refits only the sparsity coefficients;
# its full law is {**TABLE7["t5"], **TABLE7["t5_nm"]}. That single row gives gains 1.67x (S=0.5) and
# 1.81x (S=0.75): Table 3's n:8 row (4:8, 2:8), not its n:4 row.
TABLE7 = {
    "vit": Law(dict(a_S=2.94e2, b_S=0.821, c_S=4.68e2, b_N=0.392, a_D=2.37e8, b_D=0.890, c=4.517),
               name="ViT/JFT law (Table 7)", k=6, data=VIT_DATA, samples=LAWS_DIR / "vit-bootstrap.csv"),
    "t5": Law(dict(a_S=1.68e1, b_S=0.722, c_S=4.50e1, b_N=0.245, a_D=6.90e8, b_D=0.203, c=0.651),
              name="T5/C4 law (Table 7)", k=3, data=T5_DATA, samples=LAWS_DIR / "t5-bootstrap.csv"),
    "t5_nm": dict(a_S=8.64e1, b_S=2.752, c_S=5.36e2),
}

COSTS = ("dense", "sparse")
KINDS = ("cubic", "geometric")
_LOG_MAX = float(np.log(np.finfo(float).max))  # exp of anything above overflows


# ----------------------------------------------------------------------------- input checks


def check_sparsity(S):
    """S as a float array, every sparsity in [0, 1); else one ValueError naming the bad values.

        check_sparsity([0.0, 0.5])  # [0, 0.5]"""
    S = np.asarray(S, dtype=float)
    if not np.all((S >= 0.0) & (S < 1.0)):
        raise ValueError(f"sparsity S must lie in [0, 1); got {S[(S < 0) | (S >= 1) | np.isnan(S)]}")
    return S


def check_positive(name, x):
    """x as a float array, every value > 0; else one ValueError naming `name` and the bad values.

        check_positive("N", 1e9)  # 1e+09"""
    x = np.asarray(x, dtype=float)
    if not np.all(x > 0.0):
        raise ValueError(f"{name} must be > 0; got {x[~(x > 0)]}")
    return x


def check_window(start, end, kind):
    """A pruning window and schedule: 0 <= start <= end <= 1 and kind in KINDS; else a ValueError.

        check_window(0.25, 0.75, "cubic")  # None: the values are allowed"""
    if not 0.0 <= start <= end <= 1.0:
        raise ValueError(f"pruning window needs 0 <= start <= end <= 1; got start={start}, end={end}")
    if kind not in KINDS:
        raise ValueError(f"schedule kind={kind!r}: allowed {KINDS}")


def check_coefficients(coeffs) -> dict:
    """The seven coefficients of Eq. 1 (COEFF_NAMES) of `coeffs` as floats, other keys ignored
    (a bootstrap sample's derived quantities, say): each finite, the exponents b_N and b_D > 0
    (they divide), every other >= 0 (a fit may drive one to 0). Every law, cost and optimum here
    checks its coefficients with it, and so do kit.planner and the chapters.

        check_coefficients(TABLE7["t5"])["b_N"]  # 0.54"""
    missing = [name for name in COEFF_NAMES if name not in coeffs]
    if missing:
        raise ValueError(f"coefficient set lacks {', '.join(missing)}; needs all of {', '.join(COEFF_NAMES)}")
    out = {name: float(coeffs[name]) for name in COEFF_NAMES}
    for name, value in out.items():
        positive = name in ("b_N", "b_D")
        if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
            raise ValueError(f"coefficient {name}={value}: must be a finite number {'> 0' if positive else '>= 0'}")
    return out


def _check_cost(cost):
    if cost not in COSTS:
        raise ValueError(f"cost={cost!r}: allowed {COSTS}")


# ----------------------------------------------------------------------------- laws


def dense_law(N, D, a_N, b_N, a_D, b_D, c):
    """Eq. 2: L(N, D) = (a_N / N)^b_N + (a_D / D)^b_D + c.

        dense_law(1e9, 2e10, a_N=1e8, b_N=0.3, a_D=1e9, b_D=0.3, c=1.5)  # 2.408"""
    N, D = check_positive("N", N), check_positive("D", D)
    return (a_N / N) ** b_N + (a_D / D) ** b_D + c


def sparse_law(S, N, D, a_S, b_S, c_S, b_N, a_D, b_D, c):
    """Eq. 1/3: L(S, N, D) = (a_S (1 - S)^b_S + c_S) (1 / N)^b_N + (a_D / D)^b_D + c.

    N counts non-zero parameters. S = 0 gives Eq. 2 with a_N^b_N = a_S + c_S.

        sparse_law(0.5, 1e8, 1e10, **TABLE7["t5"])  # 1.837"""
    S = check_sparsity(S)
    N, D = check_positive("N", N), check_positive("D", D)
    return (a_S * (1.0 - S) ** b_S + c_S) * N**-b_N + (a_D / D) ** b_D + c


def avg_param_law(N_avg, D, a_N, b_N, a_D, b_D, c):
    """Jin et al. (2025): Eq. 2 with N replaced by the average non-zero count over training,
    L = (a_N / N_avg)^b_N + (a_D / D)^b_D + c (their E + A / N_avg^alpha + B / D^beta).

        avg_param_law(1e9, 2e10, a_N=1e8, b_N=0.3, a_D=1e9, b_D=0.3, c=1.5)  # 2.408"""
    return dense_law(N_avg, D, a_N, b_N, a_D, b_D, c)


# ----------------------------------------------------------------------------- costs


def _cost_and_slope(x, cost, start, end, kind):
    """c_mul and its derivative d c_mul / d r in the log compression r = -ln x, at density x = 1 - S.

    Working in x keeps S near 1 exact. The pruning window splits training into fractions
    start (dense), end - start (pruning) and 1 - end (final sparsity)."""
    if cost == "dense":
        return 1.0 / x, 1.0 / x
    if kind == "cubic":  # c_mul = p e^r + (1 - p), p = start + (end - start) / 4
        p = start + 0.25 * (end - start)
        return p / x + (1.0 - p), p / x
    # geometric: c_mul = start e^r + (end - start) (e^r - 1) / r + (1 - end)
    r = -np.log(x)
    r_safe = np.where(r > 0.0, r, 1.0)
    window = np.where(r > 0.0, np.expm1(r_safe) / r_safe, 1.0)
    d_window = np.where(  # d/dr of (e^r - 1) / r; its series below r = 1e-3 avoids cancellation
        r > 1e-3,
        (r_safe * np.exp(r_safe) - np.expm1(r_safe)) / r_safe**2,
        0.5 + r / 3.0 + r**2 / 8.0 + r**3 / 30.0,
    )
    return start / x + (end - start) * window + (1.0 - end), start / x + (end - start) * d_window


def cmul(S, start=0.25, end=0.75, kind="cubic"):
    """Sparse training-cost multiplier, generalising Eq. 4 (Appendix D) to any pruning window.

    c_mul = (FLOPs spent on non-zeros over the run) / (FLOPs of a dense model of the final non-zero
    count N) = integral_0^1 (1 - S_t) dt / (1 - S), for the schedule S_t of kit.laws.schedules:

      cubic:     c_mul = (start + (end - start)(1 - 3S/4)) / (1 - S) + (1 - end)
      geometric: c_mul = (start + (end - start) (-S / ln(1 - S))) / (1 - S) + (1 - end)

    since the cubic window's mean density is 1 - 3S/4 and the geometric one's, of (1 - S)^u, is
    -S / ln(1 - S). start=0.25, end=0.75, cubic is Eq. 4: (0.25 + 0.5 (1 - 0.75 S)) / (1 - S) + 0.25.

        cmul(0.5)  # 1.375"""
    S = check_sparsity(S)
    check_window(start, end, kind)
    return _cost_and_slope(1.0 - S, "sparse", start, end, kind)[0]


def cmul_dense(S):
    """Dense training-cost multiplier (Section 3.3, cost (a)): a dense model of N / (1 - S)
    parameters for the same steps costs 1 / (1 - S) times the dense N model.

        cmul_dense(0.5)  # 2"""
    return 1.0 / (1.0 - check_sparsity(S))


def n_avg(N, S, start=0.25, end=0.75, kind="cubic"):
    """Jin et al. (2025) average non-zero parameter count over training of a run that ends with
    N non-zeros at sparsity S: N_avg = integral_0^1 N (1 - S_t) / (1 - S) dt = N c_mul(S) (Eq. 4).

        n_avg(1e8, 0.5)  # 1.375e+08"""
    return check_positive("N", N) * cmul(S, start, end, kind)


# ----------------------------------------------------------------------------- optima


def _eq5_residual(x, D0, N, coeffs, cost, start, end, kind):
    """dL/dr of L(S, N, D0 / c_mul(S)) in r = -ln(1 - S): Eq. 5's left minus right side, times (1 - S).

    Eq. 5 as derived: a_D^b_D b_D (c_mul'(S) / c_mul) (D0 / c_mul)^-b_D = a_S b_S (1 - S)^(b_S - 1) N^-b_N
    (typeset with a_D for a_D^b_D). Zero exactly where Eq. 5 holds (dr/dS = 1 / (1 - S) > 0). It increases with r: the capacity term
    a_S e^{-b_S r} and (c_mul(r))^{b_D}, c_mul being a positive mix of exponentials e^{u r}, are both
    convex in r, so the loss has a single minimum and the residual a single root."""
    a_S, b_S, b_N, a_D, b_D = (coeffs[name] for name in ("a_S", "b_S", "b_N", "a_D", "b_D"))
    c_mul, slope = _cost_and_slope(x, cost, start, end, kind)
    capacity = b_S * a_S * x**b_S * N**-b_N
    data = b_D * (a_D / D0) ** b_D * c_mul ** (b_D - 1.0) * slope
    return data - capacity


def s_opt(N, C, coeffs, cost="dense", flops_per_param_token=None, start=0.25, end=0.75, kind="cubic"):
    """Optimal sparsity S_opt(N, C) at fixed non-zeros N and training FLOPs C (Eq. 5, solved numerically).

    Minimises L(S, N, D_S) over S in [0, 1) with D_S = C / (k N) / c_mul(S), k = flops_per_param_token
    (default: the law's, see flops_per_token),
    c_mul = cmul_dense (cost='dense') or cmul(S, start, end, kind) (cost='sparse'), by bisecting the
    root of Eq. 5 in r = -ln(1 - S). Returns 0 where dense is best.

        s_opt(1e9, 1e21, TABLE7["t5"])  # 0.2512"""
    check_coefficients(coeffs)
    _check_cost(cost)
    check_window(start, end, kind)
    N, C = np.broadcast_arrays(check_positive("N", N), check_positive("C", C))
    D0 = C / (flops_per_token(coeffs, flops_per_param_token) * N)
    residual = lambda r: _eq5_residual(np.exp(-r), D0, N, coeffs, cost, start, end, kind)
    lo, hi = np.zeros_like(D0), np.full_like(D0, 700.0)  # e^-700 is still a normal float
    for _ in range(100):  # 700 / 2^100: far below float resolution of r
        mid = 0.5 * (lo + hi)
        up = residual(mid) > 0.0
        lo, hi = np.where(up, lo, mid), np.where(up, mid, hi)
    r = np.where(residual(np.zeros_like(D0)) >= 0.0, 0.0, 0.5 * (lo + hi))
    return (-np.expm1(-r))[()]


def s_opt_closed_form(N, C, coeffs, flops_per_param_token=None):
    """Eq. 6: S_opt for dense costs (c_mul = 1 / (1 - S)), derived from Eq. 5.

    With D0 = C / (k N) (k: flops_per_param_token, default the law's),
    Eq. 5 reads a_D^b_D b_D D0^-b_D (1 - S)^(-1 - b_D) = a_S b_S (1 - S)^(b_S - 1) N^-b_N,
    so S_opt = max{1 - exp([log(a_D^b_D b_D / (a_S b_S)) + b_N log N] / (b_D + b_S)) D0^(-b_D / (b_D + b_S)), 0}.
    (The typeset Eq. 6 is garbled: it writes b_N a_D b_D for a_D^b_D b_D and a comma for the product.)

        s_opt_closed_form(1e9, 1e21, TABLE7["t5"])  # 0.2512"""
    check_coefficients(coeffs)
    N, C = check_positive("N", N), check_positive("C", C)
    a_S, b_S, b_N, a_D, b_D = (coeffs[name] for name in ("a_S", "b_S", "b_N", "a_D", "b_D"))
    D0 = C / (flops_per_token(coeffs, flops_per_param_token) * N)
    log_x = (np.log(a_D**b_D * b_D / (a_S * b_S)) + b_N * np.log(N) - b_D * np.log(D0)) / (b_D + b_S)
    return np.maximum(-np.expm1(log_x), 0.0)[()]


def chinchilla_tokens(N, coeffs):
    """Tokens for which a dense model of N parameters is compute optimal (Hoffmann et al. 2022) under
    the S = 0 law, chinchilla_n_opt inverted: D_chin(N)^b_D = b_D a_D^b_D N^b_N / (b_N (a_S + c_S)),
    so C_chin(N) = k N D_chin(N).

        chinchilla_tokens(1e9, TABLE7["t5"])"""
    c = check_coefficients(coeffs)
    N = check_positive("N", N)
    return (c["a_D"] * (c["b_D"] * N ** c["b_N"] / (c["b_N"] * (c["a_S"] + c["c_S"]))) ** (1.0 / c["b_D"]))[()]


def payoff_tokens(S, N, coeffs, c_mul):
    """Dense-equivalent tokens C / (k N) beyond which sparsity S (cost multiplier c_mul) beats the
    dense model of N parameters trained with the same compute C (Eq. 1 at equal compute).

    At equal C the dense model sees D and the sparse one D / c_mul; by Eq. 1 the sparse one is
    better when (a_D / D)^b_D (c_mul^b_D - 1) < a_S (1 - (1 - S)^b_S) N^-b_N, i.e. for
    D > a_D ((c_mul^b_D - 1) / (a_S (1 - (1 - S)^b_S) N^-b_N))^(1 / b_D); from any D if c_mul <= 1.
    The sparse run itself trains on that divided by c_mul. NaN at S = 0; inf where sparsity buys no
    capacity (a_S = 0). Over chinchilla_tokens(N) it is the same at every N:

        payoff_tokens(0.5, 1e9, TABLE7["t5"], cmul(0.5)) / chinchilla_tokens(1e9, TABLE7["t5"])"""
    coeffs = check_coefficients(coeffs)
    S, N = check_sparsity(S), check_positive("N", N)
    c_mul = check_positive("c_mul", c_mul)
    a_S, b_S, b_N, a_D, b_D = (coeffs[name] for name in ("a_S", "b_S", "b_N", "a_D", "b_D"))
    capacity_gain = a_S * -np.expm1(b_S * np.log1p(-S)) * N**-b_N
    with np.errstate(divide="ignore", invalid="ignore"):
        D = a_D * (np.maximum(c_mul**b_D - 1.0, 0.0) / capacity_gain) ** (1.0 / b_D)
    return np.where(S > 0, D, np.nan)[()]


def chinchilla_n_opt(C, coeffs, flops_per_param_token=None):
    """Compute-optimal dense size (Hoffmann et al. 2022) for the S = 0 law, Eq. 1 with D = C / (k N)
    (k: flops_per_param_token, default the law's):

    minimising (a_S + c_S) N^-b_N + (a_D k N / C)^b_D over N gives
    N_opt = [b_N (a_S + c_S) / (b_D a_D^b_D)]^(1 / (b_N + b_D)) (C / k)^(b_D / (b_N + b_D)).

        chinchilla_n_opt(1e21, TABLE7["t5"])  # 2.981e+09"""
    check_coefficients(coeffs)
    C = check_positive("C", C)
    a_N_bN, b_N, a_D, b_D = coeffs["a_S"] + coeffs["c_S"], coeffs["b_N"], coeffs["a_D"], coeffs["b_D"]
    G = b_N * a_N_bN / (b_D * a_D**b_D)
    return G ** (1.0 / (b_N + b_D)) * (C / flops_per_token(coeffs, flops_per_param_token)) ** (b_D / (b_N + b_D))


def gain(S, a_S, b_S, c_S, b_N, a_D=None, b_D=None, c=None):
    """Eq. 7: dense size multiplier matching sparsity S, ((a_S (1 - S)^b_S + c_S) / (a_S + c_S))^(-1 / b_N).

    Takes a whole coefficient set as keywords, gain(S, **TABLE7["t5"]): the data term's a_D, b_D and c
    do not enter Eq. 7.

        gain(0.5, **TABLE7["t5"])  # 1.59 (Table 2)"""
    S = check_sparsity(S)
    return ((a_S * (1.0 - S) ** b_S + c_S) / (a_S + c_S)) ** (-1.0 / b_N)


def chinchilla_multiple(S, N, coeffs, cost="dense", start=0.25, end=0.75, kind="cubic"):
    """How many times the Chinchilla-optimal compute a run with N non-zeros needs before sparsity S
    becomes optimal (Section 3.3): C / C_chin(N), from Eq. 5 solved for the data.

    Equivalently D / D_chin(N) in dense-equivalent data D = C / (k N) (the sparse run itself sees
    D / c_mul(S)). Eq. 5 in r = -ln(1 - S) gives D^b_D = b_D a_D^b_D c_mul^(b_D - 1) c_mul' N^b_N / (b_S a_S (1 - S)^b_S)
    (c_mul' = d c_mul / d r), and N = chinchilla_n_opt(k N D_chin) gives
    D_chin^b_D = b_D a_D^b_D N^b_N / (b_N (a_S + c_S)), so

      multiple = [c_mul^(b_D - 1) c_mul' b_N (a_S + c_S) / (b_S a_S (1 - S)^b_S)]^(1 / b_D),

    independent of N and of k (contours are parallel to the Chinchilla line).

    Evaluated in logs, so a capacity term a_S (1 - S)^b_S below the smallest float (S near 1, a
    large b_S) still gives the finite multiple. Where sparsity buys no capacity (a_S b_S = 0, e.g.
    a fit whose a_S went to 0) or the multiple exceeds the largest float, it is inf: sparsity S
    never becomes optimal.

        chinchilla_multiple(0.5, 1e9, TABLE7["t5"], "sparse")  # 2.436"""
    check_coefficients(coeffs)
    _check_cost(cost)
    check_window(start, end, kind)
    S = check_sparsity(S)
    check_positive("N", N)
    a_S, b_S, c_S, b_N, b_D = (coeffs[name] for name in ("a_S", "b_S", "c_S", "b_N", "b_D"))
    x = 1.0 - S
    c_mul, slope = _cost_and_slope(x, cost, start, end, kind)
    pays = a_S * b_S > 0.0
    log_ratio = ((b_D - 1.0) * np.log(c_mul) + np.log(slope) + np.log(np.where(pays, b_N * (a_S + c_S), 1.0))
                 - np.log(np.where(pays, b_S * a_S, 1.0)) - b_S * np.log(x))
    log_multiple = np.where(pays, log_ratio / b_D, np.inf)
    multiple = np.where(log_multiple < _LOG_MAX, np.exp(np.minimum(log_multiple, _LOG_MAX)), np.inf)
    return (multiple * np.ones(np.shape(N)))[()]


def data_for_loss(L, S, N, coeffs):
    """Eq. 1 solved for D: the training data at which L(S, N, D) = L,

      D = a_D (L - (a_S (1 - S)^b_S + c_S) N^-b_N - c)^(-1 / b_D),

    e.g. the data a run from scratch needs to match the loss of a model pruned from a pretrained
    checkpoint (Section 4.2, Table 4). Raises ValueError where L is at or below the law's D -> infinity
    limit (a_S (1 - S)^b_S + c_S) N^-b_N + c, which no finite D reaches.

        data_for_loss(2.0, 0.5, 1e8, TABLE7["t5"])  # 2.963e+09"""
    check_coefficients(coeffs)
    S = check_sparsity(S)
    N = check_positive("N", N)
    L = np.asarray(L, dtype=float)
    a_S, b_S, c_S, b_N, a_D, b_D, c = (coeffs[name] for name in COEFF_NAMES)
    data_term = L - (a_S * (1.0 - S) ** b_S + c_S) * N**-b_N - c  # (a_D / D)^b_D
    if not np.all(data_term > 0.0):
        L_b, limit_b, term_b = np.broadcast_arrays(L, L - data_term, data_term)
        bad = ~(term_b > 0.0)
        raise ValueError(f"loss L={L_b[bad]} is at or below the law's D -> infinity limit {limit_b[bad]} "
                         f"at these (S, N): no finite D reaches it")
    return (a_D * data_term ** (-1.0 / b_D))[()]
