"""Reliability drills (``make drills``, marker ``drills``): each measures what it promises and
reports it with the ``drill`` fixture (``figures.py``; ``report.py`` prints the table).

* load: ``test_pubsub_load.py``, ``test_streaming_dedupe.py``, ``test_firestore_ledger_contention.py``
  (concurrency against the local services: nothing lost, nothing doubled);
* crashes: ``test_crash_drills.py`` (``kill -9`` during a replayed day), ``test_supervision.py``;
* bad input: ``test_bad_input.py`` over the corpus of ``bad_input.py`` (malformed records in every
  flow: each set aside with a reason naming its field, the good ones beside it in the warehouse,
  counts reconciled, nothing crashed).
"""
