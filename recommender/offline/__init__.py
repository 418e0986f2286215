"""Offline side of the recommender: datasets, metrics and the evaluation and tuning harness.

- :mod:`~recommender.offline.datasets`: the citeulike-a loader and its published splits
- :mod:`~recommender.offline.metrics`: Recall, NDCG and coverage (vectorised and per-list forms)
- :mod:`~recommender.offline.methods`: the methods compared (TopPop, the library hybrid, the arxiv-sanity SVM)
- :mod:`~recommender.offline.runner`: ``run`` and ``evaluate_method`` on the published protocol
- :mod:`~recommender.offline.report`: the table, ``results.json``, ``report.md`` and plots
- :mod:`~recommender.offline.views`: validation views carved from the training items
- :mod:`~recommender.offline.tuning`: the hyper-parameter search and the blend choice

Nothing is imported here, so ``recommender.offline.training`` can use the metrics without loading the harness.
"""
