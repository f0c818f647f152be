"""The assessment configuration: state, counties, codebooks, indicators and thresholds, as data.

Everything that differs between states or years lives in YAML files (``config/<state>/``);
this package loads them, validates them and reports every problem with the file and the place in
it. It knows nothing of Dagster, so the plain stage functions can take these objects as inputs.

- ``assessment_schema``: what ``assessment.yaml`` may say (``instruments``: its survey instruments);
- ``documents``: the codebook, interview frames, indicators and model specifications;
- ``coding``: the coding frames of open-ended answers and intercoder agreement;
- ``loading``: reading, validating and cross-checking them into one ``Assessment``.
"""

from pipelines.errors import ConfigError
from pipelines.config.assessment_schema import (  # noqa: F401
    REPO_ROOT,
    DEFAULT_CONFIG,
    _Strict,
    State,
    County,
    CountyGroup,
    OfficerHeadcounts,
    Disclosure,
    InputLimits,
    RawArchive,
    InputStatus,
    WAVE_INPUTS,
    InputRequirements,
    InputOverrides,
    WaveInputs,
    Trim,
    Margin,
    Weighting,
    Estimates,
    SmallArea,
    only_state_placeholder,
    PrevalenceList,
    Prevalence,
    name_key,
    ServiceType,
    HoursValue,
    AfterHoursRule,
    Services,
    ReportFiles,
    TrackedIndicator,
    Recommendation,
    RecommendationSet,
    Codebooks,
    Instrument,
    SurveyEvidence,
    OFFICER_INSTRUMENT,
    WEIGHTING_POPULATIONS,
    Execution,
    AssessmentConfig,
)
from pipelines.config.documents import (  # noqa: F401
    Option,
    POSITIONAL,
    code_key,
    Variable,
    Derived,
    Codebook,
    Theme,
    InterviewFrame,
    InterviewFrames,
    Indicator,
    IndicatorSet,
    ModelOutcome,
    ModelRegressor,
    MODEL_GROUP,
    MODEL_BAND,
    TrainingGapModels,
    ModelSpecs,
)
from pipelines.config.coding import Agreement, OpenEndedCoding, OpenEndedTheme  # noqa: F401
from pipelines.config.loading import (  # noqa: F401
    _validate,
    Assessment,
    _check_codes,
    load_assessment,
)
