"""The one reconcile loop every kind's shell runs: observe, plan, read what the planner asks
for and plan again, execute, and keep what the plan says to remember.

A kind supplies four things: its first reads (`observe`), its planner (`plan`), how to read
the kind's `Lookups` (`look_up`) and how to execute one of its actions (`execute`). The loop
is the same for all of them, so an AWS error means the same everywhere: the steps after it
are not run, what was remembered before it stands, and the outcome says what failed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from serving_operator.aws.base import AwsError
from serving_operator.planning.failures import AwsFailure, outcome_for_failure
from serving_operator.planning.outcome import Lookups, Outcome, Plan, Remember

ObservationT = TypeVar("ObservationT")
ActionT = TypeVar("ActionT")
MemoryT = TypeVar("MemoryT")
FindingsT = TypeVar("FindingsT")
LookupsT = TypeVar("LookupsT", bound=Lookups)

MAX_LOOKUP_ROUNDS = 5
"""Each round reads everything the planner asked for; a planner needs only a few (the
kinds' planners at most three). More means a planner that never makes up its mind."""


@dataclass
class PassResult(Generic[ActionT, MemoryT, FindingsT, ObservationT]):
    """What one pass did: the outcome, the memory to keep, and what it read and wrote."""

    outcome: Outcome
    memory: MemoryT
    """What the last executed `Remember` said, else what was remembered before the pass."""
    observed: ObservationT | None = None
    """The last observation the planner saw (None: the first reads failed)."""
    plan: Plan[ActionT | Remember[MemoryT], FindingsT] | None = None
    """The plan executed, in full or up to an AWS error (None: no plan was reached)."""
    executed: list[ActionT] = field(default_factory=list)
    """The actions carried out, in order (`execute` said each one changed something)."""
    aws_failure: AwsFailure | None = None
    outdated: bool = False
    """Executing the plan found what it was planned on gone (ObservationOutdatedError)."""

    @property
    def recheck_after(self) -> float | None:
        """The planner's deadline, unless the pass stopped early (then the driver's
        backoff)."""
        if self.plan is None or self.aws_failure is not None or self.outdated:
            return None
        return self.plan.recheck_after

    @property
    def findings(self) -> FindingsT | None:
        return self.plan.findings if self.plan is not None else None


def failed_pass(
    memory: MemoryT, error: AwsError
) -> PassResult[ActionT, MemoryT, FindingsT, ObservationT]:
    """A pass an AWS error stopped: the outcome says what failed, the memory before stands.
    For a shell whose own read before `run_pass` failed, so that it means what it means
    inside the loop."""
    return PassResult(outcome_for_failure(error.failure), memory, aws_failure=error.failure)


OBSERVATION_OUTDATED = "ObservationOutdated"


class ObservationOutdatedError(Exception):
    """Executing a plan found that what the planner saw no longer holds: an object the reads
    (perhaps shared with other passes) showed is gone. Not AWS refusing anything: the pass
    stops there, as on an AWS error, and the next one reads afresh."""


class UndecidedPlannerError(RuntimeError):
    """The planner kept asking for reads: a bug in the planner, never in the world."""


def run_pass(
    *,
    memory: MemoryT,
    observe: Callable[[], ObservationT],
    plan: Callable[[ObservationT], Plan[ActionT | Remember[MemoryT], FindingsT] | LookupsT],
    look_up: Callable[[LookupsT, ObservationT], ObservationT],
    execute: Callable[[ActionT], bool],
    max_lookup_rounds: int = MAX_LOOKUP_ROUNDS,
) -> PassResult[ActionT, MemoryT, FindingsT, ObservationT]:
    """One pass. `execute` carries out one action and answers whether it changed anything
    (False: found done already, or a call that changes nothing such as a warm-up); it raises
    AwsError when AWS refused, or ObservationOutdatedError when what the plan was made from
    is gone; either stops the pass."""
    result: PassResult[ActionT, MemoryT, FindingsT, ObservationT] = PassResult(
        Outcome.progressing("Observing", ""), memory
    )
    try:
        observed = observe()
        result.observed = observed
        decision = plan(observed)
        rounds = 0
        while isinstance(decision, Lookups):
            if rounds == max_lookup_rounds:
                raise UndecidedPlannerError(f"the planner kept asking for reads: {decision}")
            rounds += 1
            observed = look_up(decision, observed)
            result.observed = observed
            decision = plan(observed)
        result.plan = decision
        for step in decision.actions:
            if isinstance(step, Remember):
                result.memory = step.memory
            elif execute(step):
                result.executed.append(step)
        result.outcome = decision.outcome
    except AwsError as error:
        result.aws_failure = error.failure
        result.outcome = outcome_for_failure(error.failure)
    except ObservationOutdatedError as error:
        result.outdated = True
        result.outcome = Outcome.progressing(OBSERVATION_OUTDATED, f"{error}; reading AWS again")
    return result
