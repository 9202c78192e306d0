"""peftgov's classification metric as an ``evaluate`` module, loadable with no network::

    import evaluate, peftgov.metrics
    metric = evaluate.load(peftgov.metrics.module_path("classification"))
    metric.compute(predictions=[0, 1, 1], references=[0, 1, 0], labels=["no", "yes"])

The same function the classification task calls
(:func:`peftgov.metrics.classification.classification_metrics`): accuracy, macro-F1 over every
label (absent ones score 0), weighted-F1 and, given ``labels``, a per-label F1 table.
"""

import datasets
import evaluate

from peftgov.metrics.classification import classification_metrics


class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: class ids; labels: optional names",
            features=datasets.Features(
                {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
            ),
        )

    def _compute(self, predictions, references, labels=None):
        return classification_metrics(predictions, references, labels=labels)
