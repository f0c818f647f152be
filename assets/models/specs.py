"""The training-gap model specifications of an assessment, read from its config (``models`` file,
validated on load in :mod:`pipelines.config`): the outcomes (a question and the answers that count
as prepared, with the name and wording of the share *not* prepared), the regressors with their
reference levels, and which outcomes get county estimates. Nothing here knows a state."""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.config import MODEL_BAND, MODEL_GROUP, Assessment

__all__ = ["EXPERIENCE", "GROUP", "Outcome", "fitted_outcomes", "outcomes_of", "references_of", "regressors_of"]

#: the regressors the county tables are by (the config requires both among the regressors)
EXPERIENCE = MODEL_BAND
GROUP = MODEL_GROUP


@dataclass(frozen=True)
class Outcome:
    """A preparedness outcome: ``column`` answered in ``success`` counts as prepared (y = 1), modelled
    on ``regressors`` (formula order; each a factor whose first level is the reference)."""

    column: str
    label: str
    success: tuple[str, ...]
    gap: str  # the share *not* prepared, as used for targeting
    gap_label: str
    regressors: tuple[str, ...]
    county_estimates: bool = True

    @property
    def y(self) -> str:
        return f"y_{self.column}"

    @property
    def formula(self) -> str:
        return f"{self.y} ~ " + " + ".join(self.regressors)

    def formula_text(self) -> str:
        """The formula as a stakeholder-readable R formula."""
        return (f"I({self.column} %in% c({', '.join(repr(s) for s in self.success)})) ~ "
                + " + ".join(self.regressors))


def regressors_of(assessment: Assessment) -> tuple[str, ...]:
    """The regressors of the training-gap models, in formula order."""
    return tuple(r.variable for r in assessment.models.training_gap.regressors)


def references_of(assessment: Assessment) -> dict[str, str]:
    """The reference level the config sets for a regressor (others: the codebook's first level)."""
    return {r.variable: r.reference for r in assessment.models.training_gap.regressors if r.reference is not None}


def outcomes_of(assessment: Assessment) -> tuple[Outcome, ...]:
    """Every outcome of the config, its labels filled with the state's name."""
    state = assessment.config.state.name
    regressors = regressors_of(assessment)
    return tuple(Outcome(o.variable, o.label.format(state=state), tuple(o.success), o.gap,
                         o.gap_label.format(state=state), regressors, o.county_estimates)
                 for o in assessment.models.training_gap.outcomes)


def fitted_outcomes(assessment: Assessment, not_collected: set[str] | None = None) -> tuple[Outcome, ...]:
    """The outcomes whose models can be fit this wave: their question and every regressor's question
    collected (a regressor not collected leaves no model; an outcome not collected leaves out its own)."""
    from assets.estimates.headline import needed_questions

    outcomes = outcomes_of(assessment)
    if not not_collected:
        return outcomes
    if needed_questions(assessment, *regressors_of(assessment)) & set(not_collected):
        return ()
    return tuple(o for o in outcomes if not needed_questions(assessment, o.column) & set(not_collected))
