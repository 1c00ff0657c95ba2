"""How good a run is: metrics and curves in scikit-learn's style, the stored evaluation of a run on its test split,
what its figures mean, and the comparison of runs."""

from mnist_lab.evaluation.compare import (
    COMPARED,
    HEADLINE,
    Comparison,
    check_comparable,
    compare,
    hyperparameter_diff,
    run_labels,
)
from mnist_lab.evaluation.evaluate import (
    CURVE_POINTS,
    CellExamples,
    Evaluation,
    cell_examples,
    evaluate_run,
    stored_figures,
)
from mnist_lab.evaluation.explain import (
    CONFUSION_MATRIX_EXPLAINED,
    CURVES_EXPLAINED,
    PAIRS,
    RANKING_ERRORS,
    auc_decimals,
    gap_explanation,
    ranking_errors,
    sampling_noise,
)

__all__ = [
    "COMPARED",
    "CONFUSION_MATRIX_EXPLAINED",
    "CURVES_EXPLAINED",
    "CURVE_POINTS",
    "HEADLINE",
    "PAIRS",
    "RANKING_ERRORS",
    "CellExamples",
    "Comparison",
    "Evaluation",
    "auc_decimals",
    "cell_examples",
    "check_comparable",
    "compare",
    "evaluate_run",
    "gap_explanation",
    "hyperparameter_diff",
    "ranking_errors",
    "run_labels",
    "sampling_noise",
    "stored_figures",
]
