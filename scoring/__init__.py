"""manyi scoring: pure computation on tidy response DataFrames.

No I/O happens here: no Flask, no database, no files, no network. Every public function
takes a DataFrame (one row per response) plus plain mappings (item -> dimension, blocks,
paths, weights) and returns a tidy DataFrame or a frozen result object with
``summary()``, ``to_frame()`` and ``to_dict()``.

>>> import scoring as sc
>>> "servqual" in sc.__all__ and "fit_csi" in sc.__all__
True
"""

from __future__ import annotations

from scoring import instrument
from scoring._results import MethodResult
from scoring.csi import (
    ACSI,
    CCSI,
    CSI_MODELS,
    ECSI,
    CsiModel,
    CsiResult,
    fit_csi,
)
from scoring.drivers import (
    DriverResult,
    OrdinalResult,
    driver_analysis,
    importance_performance,
    ordinal_drivers,
    relative_weights,
    shapley_importance,
)
from scoring.errors import (
    ConvergenceWarning,
    DataError,
    InsufficientDataError,
    NoDimensionScoresError,
    ScoringError,
    SingularMatrixError,
    SpecificationError,
)
from scoring.fuzzy import (
    OPERATORS,
    FuzzyResult,
    function_membership,
    fuzzy_compose,
    fuzzy_evaluate,
    survey_membership,
)
from scoring.gaps import (
    GAP_ROLES,
    GapsResult,
    service_gaps,
)
from scoring.index import (
    IndexResult,
    NpsResult,
    customer_rates,
    nps,
    nps_from_counts,
    questionnaire_index,
)
from scoring.inference import (
    AnovaTest,
    KendallW,
    KruskalTest,
    MeanDifference,
    MeanInterval,
    SignedRankTest,
    holm,
    intervals_from_stats,
    kendall_w,
    kruskal_wallis,
    mean_interval,
    mean_interval_from_stats,
    paired_interval,
    welch_anova,
    welch_anova_from_stats,
    welch_test,
    welch_test_from_stats,
    wilcoxon_signed_rank,
)
from scoring.instrument import run_methods
from scoring.mga import MgaResult, compare_groups
from scoring.pca import (
    KmoResult,
    PcaResult,
    bartlett_sphericity,
    kmo,
    pca_index,
)
from scoring.pls import (
    HeywoodCaseError,
    PlsBootstrap,
    PlsResult,
    fit_pls,
)
from scoring.pls_predict import PlsPrediction
from scoring.reliability import (
    AlphaResult,
    ReliabilityResult,
    alpha_from_covariance,
    average_variance_extracted,
    composite_reliability,
    cronbach_alpha,
    one_factor_loadings,
    reliability,
)
from scoring.screening import SCREENING_FLAGS, screen_responses
from scoring.servqual import (
    ROLE_SUFFIXES,
    ServqualResult,
    servqual,
    servqual_gaps,
)
from scoring.weights import (
    SAATY_RANDOM_INDEX,
    AhpResult,
    AllocationResult,
    EntropyResult,
    ahp_weights,
    allocation_weights,
    as_weights,
    entropy_weights,
    given_weights,
)

__all__ = [
    "ACSI",
    "AhpResult",
    "AllocationResult",
    "AlphaResult",
    "AnovaTest",
    "CCSI",
    "CSI_MODELS",
    "ConvergenceWarning",
    "CsiModel",
    "CsiResult",
    "DataError",
    "DriverResult",
    "ECSI",
    "EntropyResult",
    "FuzzyResult",
    "GAP_ROLES",
    "GapsResult",
    "HeywoodCaseError",
    "IndexResult",
    "InsufficientDataError",
    "KendallW",
    "KmoResult",
    "KruskalTest",
    "MeanDifference",
    "MeanInterval",
    "MethodResult",
    "NoDimensionScoresError",
    "NpsResult",
    "OPERATORS",
    "OrdinalResult",
    "PcaResult",
    "MgaResult",
    "PlsBootstrap",
    "PlsPrediction",
    "PlsResult",
    "ROLE_SUFFIXES",
    "ReliabilityResult",
    "SAATY_RANDOM_INDEX",
    "SCREENING_FLAGS",
    "ScoringError",
    "ServqualResult",
    "SignedRankTest",
    "SingularMatrixError",
    "SpecificationError",
    "ahp_weights",
    "allocation_weights",
    "alpha_from_covariance",
    "as_weights",
    "average_variance_extracted",
    "bartlett_sphericity",
    "compare_groups",
    "composite_reliability",
    "cronbach_alpha",
    "customer_rates",
    "driver_analysis",
    "entropy_weights",
    "fit_csi",
    "fit_pls",
    "function_membership",
    "fuzzy_compose",
    "fuzzy_evaluate",
    "given_weights",
    "holm",
    "importance_performance",
    "instrument",
    "intervals_from_stats",
    "kendall_w",
    "kmo",
    "kruskal_wallis",
    "mean_interval",
    "mean_interval_from_stats",
    "nps",
    "nps_from_counts",
    "one_factor_loadings",
    "ordinal_drivers",
    "paired_interval",
    "pca_index",
    "questionnaire_index",
    "relative_weights",
    "reliability",
    "run_methods",
    "screen_responses",
    "service_gaps",
    "servqual",
    "servqual_gaps",
    "shapley_importance",
    "survey_membership",
    "welch_anova",
    "welch_anova_from_stats",
    "welch_test",
    "welch_test_from_stats",
    "wilcoxon_signed_rank",
]
