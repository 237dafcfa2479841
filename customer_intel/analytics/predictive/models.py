"""The purchase models a venue can be given, behind one interface.

| name | model | lapse possible after | reference |
|---|---|---|---|
| `bgnbd` | BG/NBD | a repeat purchase only | Fader, Hardie & Lee 2005 |
| `mbgnbd` | MBG/NBD | any purchase, the first included | Batislam, Denizel & Filiztekin 2007 |
| `pareto_nbd` | Pareto/NBD | any moment | Schmittlein, Morrison & Colombo 1987 |

Each is fitted on the same inputs (`inputs.Triples`) and answers the same two questions the
scoring needs: P(alive at T) and the expected purchases over a horizon if alive.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np

from customer_intel.analytics.predictive import beta_geometric, pareto_nbd
from customer_intel.analytics.predictive.fitting import FitResult
from customer_intel.analytics.predictive.inputs import Triples

Params = Mapping[str, float]


@dataclass(frozen=True, slots=True)
class PurchaseModel:
    """One purchase model: its names, its fit and its two conditional quantities."""

    name: str
    label: str
    reference: str
    param_names: tuple[str, ...]
    # One-time buyers can lapse (BG/NBD's P(alive) is 1 for them by construction).
    one_time_buyers_lapse: bool
    fit: Callable[..., FitResult]
    probability_alive: Callable[[Params, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    expected_purchases_if_alive: Callable[..., np.ndarray]
    log_likelihood_terms: Callable[[Params, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

    def expected_purchases(
        self, params: Params, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T]: P(alive) times the expectation if alive."""
        return self.probability_alive(params, x, t_x, T) * self.expected_purchases_if_alive(
            params, t, x, T
        )

    def fit_triples(
        self,
        triples: Triples,
        *,
        start: Params | None = None,
        min_repeat_customers: int | None = None,
    ) -> FitResult:
        return self.fit(triples, start=start, min_repeat_customers=min_repeat_customers)


BGNBD = PurchaseModel(
    name=beta_geometric.BGNBD,
    label="BG/NBD",
    reference="Fader, Hardie & Lee (2005)",
    param_names=beta_geometric.PARAM_NAMES,
    one_time_buyers_lapse=False,
    fit=partial(beta_geometric.fit, model=beta_geometric.BGNBD),
    probability_alive=partial(beta_geometric.probability_alive, model=beta_geometric.BGNBD),
    expected_purchases_if_alive=partial(
        beta_geometric.expected_purchases_if_alive, model=beta_geometric.BGNBD
    ),
    log_likelihood_terms=partial(beta_geometric.log_likelihood_terms, model=beta_geometric.BGNBD),
)
MBGNBD = PurchaseModel(
    name=beta_geometric.MBGNBD,
    label="MBG/NBD",
    reference="Batislam, Denizel & Filiztekin (2007)",
    param_names=beta_geometric.PARAM_NAMES,
    one_time_buyers_lapse=True,
    fit=partial(beta_geometric.fit, model=beta_geometric.MBGNBD),
    probability_alive=partial(beta_geometric.probability_alive, model=beta_geometric.MBGNBD),
    expected_purchases_if_alive=partial(
        beta_geometric.expected_purchases_if_alive, model=beta_geometric.MBGNBD
    ),
    log_likelihood_terms=partial(beta_geometric.log_likelihood_terms, model=beta_geometric.MBGNBD),
)
PARETO_NBD = PurchaseModel(
    name=pareto_nbd.MODEL,
    label="Pareto/NBD",
    reference="Schmittlein, Morrison & Colombo (1987)",
    param_names=pareto_nbd.PARAM_NAMES,
    one_time_buyers_lapse=True,
    fit=pareto_nbd.fit,
    probability_alive=pareto_nbd.probability_alive,
    expected_purchases_if_alive=pareto_nbd.expected_purchases_if_alive,
    log_likelihood_terms=pareto_nbd.log_likelihood_terms,
)

# In this order when nothing else ranks them (ties, no holdout evidence).
MODELS: dict[str, PurchaseModel] = {model.name: model for model in (BGNBD, MBGNBD, PARETO_NBD)}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
# (name, label) pairs, as a choice field of the stored model names takes them.
MODEL_CHOICES: list[tuple[str, str]] = [(model.name, model.label) for model in MODELS.values()]


def purchase_model(name: str) -> PurchaseModel:
    """The model called `name`; ValueError for an unknown name."""
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(f"unknown purchase model {name!r}; one of {', '.join(MODELS)}") from None
