"""The kopf settings the operator starts with (handlers/lifecycle.py)."""

from __future__ import annotations

import kopf

from serving_operator.config import OperatorConfig
from serving_operator.handlers.lifecycle import TIMER_EXIT_POLL_SECONDS, tune_kopf


def test_a_deletion_during_a_timer_pass_is_looked_at_again_within_seconds() -> None:
    """kopf keeps a deleted object's finalizer until its timer's pass returns, and by default
    looks again only after 60 s: a deletion during a pass stayed Terminating a minute."""
    settings = kopf.OperatorSettings()
    assert settings.background.cancellation_polling == 60  # kopf's default, which we change
    tune_kopf(settings, OperatorConfig.from_env())
    assert settings.background.cancellation_polling == TIMER_EXIT_POLL_SECONDS <= 1


def test_kopf_bookkeeping_stays_out_of_status() -> None:
    settings = kopf.OperatorSettings()
    tune_kopf(settings, OperatorConfig.from_env())
    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert isinstance(settings.persistence.diffbase_storage, kopf.AnnotationsDiffBaseStorage)
