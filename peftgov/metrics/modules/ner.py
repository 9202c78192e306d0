"""peftgov's NER metric as an ``evaluate`` module, loadable with no network::

    import evaluate, peftgov.metrics
    metric = evaluate.load(peftgov.metrics.module_path("ner"))
    metric.compute(predictions=[["B-PER", "O"]], references=[["B-PER", "O"]])

The same function the NER task calls (:func:`peftgov.metrics.ner.ner_metrics`): strict IOB2
entity precision / recall / F1 (seqeval), a per-type table and the token-level report.
"""

import datasets
import evaluate

from peftgov.metrics.ner import ner_metrics


class Ner(evaluate.Metric):
    def _info(self):
        tags = datasets.Sequence(datasets.Value("string"))
        return evaluate.MetricInfo(
            description=__doc__,
            citation="",
            inputs_description="predictions, references: one list of BIO tags per sentence",
            features=datasets.Features({"predictions": tags, "references": tags}),
        )

    def _compute(self, predictions, references, labels=None):
        return ner_metrics(references, predictions, labels=labels)
