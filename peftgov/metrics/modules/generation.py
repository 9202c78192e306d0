"""peftgov's reply-quality metric as an ``evaluate`` module, loadable with no network::

    import evaluate, peftgov.metrics
    metric = evaluate.load(peftgov.metrics.module_path("generation"))
    metric.compute(predictions=["call 12345"], references=["please call 12345"])

The same function the dialogue task calls
(:func:`peftgov.metrics.generation.generation_metrics`): ROUGE-L for non-CJK references,
character F1 for Chinese ones (``langs`` may force either per example), and their mean.
"""

import datasets
import evaluate

from peftgov.metrics.generation import generation_metrics


class Generation(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: strings; langs: optional per example",
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
        )

    def _compute(self, predictions, references, langs=None):
        return generation_metrics(predictions, references, langs)
