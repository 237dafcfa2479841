"""Maximum-likelihood machinery shared by every model fit (purchase models and Gamma-Gamma).

Every model is fitted on the logarithms of their parameters with a bounded quasi-Newton
optimizer (L-BFGS-B) and an analytic gradient of the weighted mean negative log-likelihood.
After the optimizer stops, a numerical Hessian (forward differences of the analytic gradient)
checks what the optimizer's own status cannot: that the point is a proper maximum (positive
definite curvature), that one more Newton step would not move the parameters, and how precise
the estimates are (standard errors).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import minimize

from customer_intel.analytics.predictive.inputs import DAYS_PER_WEEK, TIME_UNIT

if TYPE_CHECKING:
    from customer_intel.analytics.predictive.inputs import Grouping

# A fit needs this many customers with at least one repeat purchase before it is used: fewer
# and the dropout and spend parameters are too imprecise to rank customers by.
MIN_REPEAT_CUSTOMERS = 200

# Bounds of every log-parameter: e^-10 .. e^10 covers any sensible rate, shape or scale; an
# estimate that ends on a bound means the likelihood wanted to run off to 0 or infinity.
LOG_PARAM_BOUND = 10.0
# Distance (in log units) from a bound at which an estimate counts as "at the bound".
BOUND_MARGIN = 1e-2
# Largest change one more Newton step may make to any log-parameter for the fit to count as
# converged (1e-3 in log space is a 0.1% relative change of the parameter).
MAX_NEWTON_STEP = 1e-3
# L-BFGS-B stops at these (relative change of the mean negative log-likelihood, largest
# gradient component); a Newton step with the numerical Hessian then finishes the job.
OPTIMIZER_FTOL = 1e-10
OPTIMIZER_GTOL = 1e-6
# The largest Newton step (in log-parameters) taken after the optimizer stops.
POLISH_MAX_STEP = 0.05

DAYS_PER_TIME_UNIT = DAYS_PER_WEEK

NegLogLikelihood = Callable[[np.ndarray], tuple[float, np.ndarray]]
# A model's own refusal rules at the estimate: (problems, figures for the diagnostics).
Checks = Callable[[Mapping[str, float]], tuple[list[str], dict[str, float]]]


@dataclass(frozen=True, slots=True)
class FitResult:
    """The outcome of one model fit, usable or refused with the reason.

    `params` holds the estimates (empty when the fit was not attempted), `log_likelihood` the
    total (weighted) log-likelihood at them, `iterations` the optimizer's iterations and
    `diagnostics` the evidence behind `usable`: optimizer status, gradient norm, Newton step,
    standard errors of the log-parameters.
    """

    model: str
    usable: bool
    reason: str
    params: dict[str, float]
    log_likelihood: float | None
    n_customers: int
    n_repeat: int
    iterations: int
    time_unit: str = TIME_UNIT
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serializable copy (for logs, the database and the backtest output)."""
        return {
            "model": self.model,
            "usable": self.usable,
            "reason": self.reason,
            "params": dict(self.params),
            "log_likelihood": self.log_likelihood,
            "n_customers": self.n_customers,
            "n_repeat": self.n_repeat,
            "iterations": self.iterations,
            "time_unit": self.time_unit,
            "diagnostics": self.diagnostics,
        }


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """sum(weights * values) without BLAS: on a busy machine BLAS's thread pool made a
    15,000-element dot product take 25 ms, two hundred times the plain loop."""
    return float(np.einsum("i,i->", weights, values))


def refused(
    *, model: str, reason: str, n_customers: int, n_repeat: int, **diagnostics: Any
) -> FitResult:
    """A FitResult for a fit that was not attempted (too little data)."""
    return FitResult(
        model=model,
        usable=False,
        reason=reason,
        params={},
        log_likelihood=None,
        n_customers=n_customers,
        n_repeat=n_repeat,
        iterations=0,
        diagnostics=dict(diagnostics),
    )


@dataclass(frozen=True, slots=True)
class Optimum:
    """Where the optimizer stopped, in log-parameter space, with the checks made there."""

    log_params: np.ndarray
    mean_nll: float
    converged: bool
    iterations: int
    diagnostics: dict[str, Any]
    problems: list[str]


def maximize_likelihood(
    *,
    mean_nll: NegLogLikelihood,
    start: np.ndarray,
    names: tuple[str, ...],
    total_weight: float,
) -> Optimum:
    """Minimize `mean_nll` (value and gradient in log-parameter space) from `start`.

    `total_weight` (the number of customers) turns the mean curvature into standard errors.
    """
    bounds = [(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * len(start)
    result = minimize(
        mean_nll,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "ftol": OPTIMIZER_FTOL, "gtol": OPTIMIZER_GTOL},
    )
    log_params = np.asarray(result.x, dtype=float)
    value, gradient = mean_nll(log_params)
    evaluations = int(result.nfev) + 1
    problems: list[str] = []
    diagnostics: dict[str, Any] = {
        "optimizer_status": int(result.status),
        "optimizer_message": str(result.message),
        "gradient_max_abs": float(np.max(np.abs(gradient))),
    }
    if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
        problems.append("log-likelihood is not finite at the estimate")
        return Optimum(log_params, float(value), False, int(result.nit), diagnostics, problems)

    for name, log_value in zip(names, log_params, strict=True):
        if abs(abs(log_value) - LOG_PARAM_BOUND) < BOUND_MARGIN:
            problems.append(f"{name} ran to its bound ({np.exp(log_value):.3g})")

    hessian = _numerical_hessian(mean_nll, log_params, gradient)
    evaluations += len(log_params)
    eigenvalues = np.linalg.eigvalsh(hessian)
    diagnostics["hessian_min_eigenvalue"] = float(eigenvalues[0])
    if eigenvalues[0] <= 1e-12 * max(1.0, abs(eigenvalues[-1])):
        problems.append("the likelihood is flat at the estimate (parameters not identifiable)")
    else:
        newton_step = np.linalg.solve(hessian, gradient)
        polished = log_params - newton_step
        # Near the optimum one Newton step gains what dozens of quasi-Newton iterations would:
        # take it when it stays inside the bounds and does not lower the likelihood.
        if np.max(np.abs(newton_step)) < POLISH_MAX_STEP and np.all(
            np.abs(polished) < LOG_PARAM_BOUND
        ):
            polished_value, polished_gradient = mean_nll(polished)
            evaluations += 1
            if np.isfinite(polished_value) and polished_value <= value + 1e-15 * abs(value):
                log_params, value, gradient = polished, polished_value, polished_gradient
                newton_step = np.linalg.solve(hessian, gradient)
                diagnostics["gradient_max_abs"] = float(np.max(np.abs(gradient)))
        diagnostics["newton_step_max_abs"] = float(np.max(np.abs(newton_step)))
        covariance = np.linalg.inv(hessian) / total_weight
        diagnostics["log_param_standard_errors"] = {
            name: float(np.sqrt(max(covariance[i, i], 0.0))) for i, name in enumerate(names)
        }
        on_bound = any("bound" in problem for problem in problems)
        if not on_bound and np.max(np.abs(newton_step)) > MAX_NEWTON_STEP:
            problems.append("the optimizer did not converge (a Newton step would still move it)")
    # L-BFGS-B often stops with "ABNORMAL" when the line search can no longer improve in
    # floating point; the Newton-step check above is what decides convergence.
    converged = not problems
    diagnostics["function_evaluations"] = evaluations
    return Optimum(log_params, float(value), converged, int(result.nit), diagnostics, problems)


def _numerical_hessian(
    mean_nll: NegLogLikelihood, log_params: np.ndarray, gradient: np.ndarray
) -> np.ndarray:
    """Forward differences of the analytic gradient (one evaluation per parameter): precise
    enough for the curvature's sign, the Newton step and standard errors."""
    step = 1e-5
    size = len(log_params)
    hessian = np.empty((size, size))
    for i in range(size):
        shift = np.zeros(size)
        shift[i] = step
        _, gradient_up = mean_nll(log_params + shift)
        hessian[i] = (gradient_up - gradient) / step
    return (hessian + hessian.T) / 2


def fit_model(
    *,
    model: str,
    names: tuple[str, ...],
    grouping: Grouping,
    mean_nll: NegLogLikelihood,
    start: Mapping[str, float],
    checks: Checks,
    min_repeat_customers: int | None = None,
) -> FitResult:
    """Fit a purchase model on grouped (x, t_x, T) triples, with the refusal rules every
    purchase model shares.

    Refuses without fitting when fewer than `min_repeat_customers` customers bought again;
    after fitting, when the optimizer did not converge, a parameter ran to its bound, the
    likelihood is flat, or the model's own `checks` object. `start` may be an earlier fit's
    estimate (a warm start); values are clipped into the parameter bounds.
    """
    triples = grouping.triples
    weights = triples.weights
    minimum = MIN_REPEAT_CUSTOMERS if min_repeat_customers is None else min_repeat_customers
    n_customers = int(np.rint(weights.sum()))
    n_repeat = int(np.rint(weights[triples.x > 0].sum()))
    if n_repeat < minimum:
        return refused(
            model=model,
            reason=f"not enough repeat customers ({n_repeat} < {minimum})",
            n_customers=n_customers,
            n_repeat=n_repeat,
        )
    if np.any(triples.t_x > triples.T) or np.any(triples.t_x < 0) or np.any(triples.x < 0):
        raise ValueError("purchase model inputs need x >= 0 and 0 <= t_x <= T")
    margin = LOG_PARAM_BOUND - 2 * BOUND_MARGIN
    log_start = np.clip(np.log([float(start[name]) for name in names]), -margin, margin)
    optimum = maximize_likelihood(
        mean_nll=mean_nll, start=log_start, names=names, total_weight=grouping.total
    )
    params = {
        name: float(value) for name, value in zip(names, np.exp(optimum.log_params), strict=True)
    }
    problems = list(optimum.problems)
    extra_problems, figures = checks(params)
    problems.extend(extra_problems)
    diagnostics = {
        **optimum.diagnostics,
        **figures,
        "unique_rows": len(triples),
        "distinct_pairs": len(grouping.pair_x),
    }
    return FitResult(
        model=model,
        usable=not problems,
        reason="; ".join(problems),
        params=params,
        log_likelihood=-optimum.mean_nll * grouping.total,
        n_customers=n_customers,
        n_repeat=n_repeat,
        iterations=optimum.iterations,
        diagnostics=diagnostics,
    )
