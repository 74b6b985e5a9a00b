"""Pretraining and finetuning configurations (YAML files; flags only override).

One versioned pydantic model per command, ``extra="forbid"`` everywhere, so a typo
in a key is an error that names it.  Relative file names in ``data`` are relative to
``data.directory``, itself relative to the config file's folder (default: that
folder), so a config travels with its data.

Example (``hepfm pretrain``)::

    schema_version: 1
    name: six_object_transformer_masked_type
    spec: six_object
    task: masked_type            # a name of hepfm_root.train.TASKS
    model: {architecture: object_transformer, size: default}
    data:
      directory: /data/hepfm
      files: [pretrain_ttbar.root, pretrain_ttH.root]
      selection: any
    augment: {rotate_phi: true, max_rapidity_shift: 1.0}
    train: {epochs: 10, batch_size: 1024, lr: 1.0e-3}
    output: exports/six_object_transformer_masked_type/0.1/backbone.pt
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import InvalidConfigError, validation_summary
from ._loop import TrainConfig
from ._recipes import RECIPES
from ._tasks import TASK_ALIASES

__all__ = ["AugmentSection", "DataSection", "EventHeadSection", "FinetuneConfig", "ModelSection", "PretrainConfig", "TrainSection",
           "load_config", "parse_config"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSection(_Strict):
    architecture: Literal["object_transformer", "graph_network", "particle_transformer", "jet_image_mae", "jet_cnn"] = Field(
        default="object_transformer", description="Backbone architecture (hepfm_root.models.ARCHITECTURES).")
    size: Literal["tiny", "small", "default"] = Field(default="default", description="Named size (models.SIZES).")
    options: dict[str, Any] = Field(default_factory=dict, description="Overrides of the size's keyword arguments.")


class DataSection(_Strict):
    directory: str = Field(default=".", description="Folder of the files below (relative: to the config file; "
                           "$VARIABLES are expanded, e.g. $HEPFM_DATA).")
    classes: dict[str, list[str]] | None = Field(
        default=None, description="Labelled data: class name -> files (order = output order).")
    files: list[str] | None = Field(default=None, description="Unlabelled data (masked_type, multilabel).")
    selection: Literal["spec", "any"] = Field(
        default="spec", description="'spec': the spec's event selection; 'any': events with >= min_objects objects.")
    min_objects: int = Field(default=2, ge=1, description="For selection 'any'.")
    max_events_per_class: int | None = Field(default=None, ge=1, description="Cap per class (or in all, unlabelled).")
    max_constituents: int | None = Field(
        default=None, ge=1, description="Train on the leading N constituents of each jet only (speed; the model "
        "still reads up to the spec's maximum when scoring).")
    test_fraction: float = Field(default=0.0, ge=0, lt=1,
                                 description="Held out before training and reported as test metrics in the card.")
    validation: dict[str, list[str]] | None = Field(
        default=None, description="A separate labelled validation set (class -> files, the same classes in the same "
        "order as data.classes): the best epoch is chosen on it and nothing is carved out of the training events "
        "(the protocol of docs/pretraining.md; without it, train.val_fraction of the training events are held out).")
    validation_max_events_per_class: int | None = Field(default=None, ge=1, description="Cap per class of data.validation.")

    @model_validator(mode="after")
    def _one_kind(self) -> DataSection:
        if (self.classes is None) == (self.files is None):
            raise ValueError("give exactly one of data.classes (labelled) and data.files (unlabelled)")
        if self.validation is not None and (self.classes is None or list(self.validation) != list(self.classes)):
            raise ValueError(f"data.validation must have the classes of data.classes in the same order "
                             f"({list(self.classes or {})}), got {list(self.validation)}")
        return self

    def _root(self, base: Path) -> Path:
        d = Path(os.path.expandvars(self.directory))
        return d if d.is_absolute() else base / d

    def resolved(self, base: Path) -> dict[str, list[Path]] | list[Path]:
        root = self._root(base)
        if self.classes is not None:
            return {k: [root / f for f in v] for k, v in self.classes.items()}
        return [root / f for f in self.files or []]

    def resolved_validation(self, base: Path) -> dict[str, list[Path]] | None:
        """``data.validation`` with paths resolved like ``resolved`` (None when not given)."""
        root = self._root(base)
        return None if self.validation is None else {k: [root / f for f in v] for k, v in self.validation.items()}


class EventHeadSection(_Strict):
    """The deep-sets event head put on a jet backbone (``hepfm finetune`` of a jet backbone)."""

    representation: Literal["score_hl", "embedding_hl", "embedding"] = Field(
        default="score_hl", description="Per-jet input of the head: the backbone's jet score + high-level features, "
        "its embedding + high-level features, or its embedding only.")
    hidden: int = Field(default=64, ge=1, description="Width of the deep-sets MLPs.")


class AugmentSection(_Strict):
    rotate_phi: bool = Field(default=False, description="Random rotation of every event in phi.")
    max_rapidity_shift: float = Field(default=0.0, ge=0, description="Random boost along z, |dy| <= this (0: off).")


class TrainSection(_Strict):
    """The fields of :class:`hepfm_root.train.TrainConfig`, optionally filled from a named recipe.

    Example:
        >>> TrainSection.model_validate({"recipe": "masked_type_study", "epochs": 20}).to_config().lr
        0.01
    """

    # The names of train.RECIPES (a test keeps them equal).
    recipe: Literal["masked_type_study", "graph_study_pretrain", "graph_study_finetune", "project"] | None = Field(
        default=None, description="A named recipe (hepfm_root.train.RECIPES) filling every key not set here.")
    epochs: int = Field(default=TrainConfig.epochs, ge=1)
    batch_size: int = Field(default=TrainConfig.batch_size, ge=1)
    lr: float = Field(default=TrainConfig.lr, gt=0, description="Head learning rate.")
    backbone_lr: float | None = Field(default=None, ge=0, description="Backbone learning rate (None: lr; 0: frozen).")
    optimizer: Literal["adamw", "sgd"] = TrainConfig.optimizer
    momentum: float = TrainConfig.momentum
    weight_decay: float = TrainConfig.weight_decay
    schedule: Literal["warmup_cosine", "cosine", "exponential", "constant"] = TrainConfig.schedule
    warmup_epochs: float = TrainConfig.warmup_epochs
    lr_min: float = TrainConfig.lr_min
    gamma: float = TrainConfig.gamma
    val_fraction: float = Field(default=TrainConfig.val_fraction, gt=0, lt=1)
    patience: int | None = Field(default=TrainConfig.patience, ge=1, description="Epochs without validation-loss "
                                 "improvement before stopping; null: train the full budget of epochs (the protocol's "
                                 "baselines), the best epoch on the validation set is still restored.")
    seed: int = TrainConfig.seed
    device: str = TrainConfig.device
    precision: Literal["fp32", "bf16"] = TrainConfig.precision
    compile: bool = TrainConfig.compile
    threads: int | None = Field(default=None, ge=1, description="CPU threads for torch (default: one per core).")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_recipe(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and isinstance(raw.get("recipe"), str) and raw["recipe"] in RECIPES:
            return {**RECIPES[raw["recipe"]], **raw}
        return raw  # an unknown recipe name fails the Literal above, naming the choices

    def to_config(self) -> TrainConfig:
        return TrainConfig(**self.model_dump(exclude={"recipe"}))


class _Common(_Strict):
    schema_version: Literal[1] = Field(default=1, description="Version of this configuration schema.")
    name: str = Field(description="Model name (model card title).")
    description: str = ""
    data: DataSection
    augment: AugmentSection = Field(default_factory=AugmentSection)
    train: TrainSection = Field(default_factory=TrainSection)
    output: str = Field(description="Checkpoint to write (.pt; the model card goes to .card.json beside it).")


class PretrainConfig(_Common):
    """``hepfm pretrain``: a backbone trained on a pretraining task."""

    kind: Literal["pretrain"] = "pretrain"
    spec: str = Field(description="Feature spec: built-in name or file (a relative path beside the config first).")
    # The names of train.TASKS (a test keeps them equal); 'multiclass' is read as 'classification'.
    task: Literal["classification", "masked_type", "multilabel", "jet_tagging", "mae_reconstruction"] = Field(
        description="classification (of the data's classes; old spelling 'multiclass') / masked_type / multilabel: "
        "event backbones; jet_tagging (H -> bb̄ vs other jets from generator truth) and mae_reconstruction "
        "(jet-image masked autoencoder): jet backbones on a constituent spec.")
    mask_probability: float = Field(default=0.65, gt=0, le=1, description="masked_type: chance to hide a type.")
    model: ModelSection = Field(default_factory=ModelSection)

    @field_validator("task", mode="before")
    @classmethod
    def _old_spelling(cls, value: Any) -> Any:
        return TASK_ALIASES.get(value, value) if isinstance(value, str) else value


class FinetuneConfig(_Common):
    """``hepfm finetune``: an event classifier from a pretrained backbone (or from scratch)."""

    kind: Literal["finetune"] = "finetune"
    checkpoint: str | None = Field(default=None, description="Pretrained backbone (--from); needed unless scratch.")
    strategy: Literal["frozen", "finetune", "scratch"] = Field(
        default="finetune", description="frozen: only the new head trains; finetune: all, backbone at backbone_lr; "
        "scratch: the same architecture, randomly initialised.")
    spec: str | None = Field(default=None, description="Spec of the data (default: the checkpoint's).")
    model: ModelSection = Field(default_factory=ModelSection, description="Architecture for scratch without checkpoint.")
    score_label: str | None = Field(default=None, description="Class whose probability is the score (default: last).")
    event_head: EventHeadSection | None = Field(
        default=None, description="Put a deep-sets event head on a jet backbone (particle_transformer, jet_image_mae, "
        "jet_cnn): the jet backbone is the backbone of the strategies, the head the whole deep-sets head.")


def _set(d: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise InvalidConfigError(f"--set {dotted}: {k!r} is not a section")
    d[keys[-1]] = value


def parse_config(raw: dict[str, Any], kind: str, *, where: str) -> PretrainConfig | FinetuneConfig:
    """Validate a config given as a mapping (``kind``: ``pretrain`` or ``finetune``).

    ``where`` names the source in the error (a file, or ``hepfm train``'s arguments).

    Example:
        >>> cfg = parse_config({"name": "x", "spec": "six_object", "task": "multiclass",
        ...                     "data": {"classes": {"a": ["a.root"], "b": ["b.root"]}}, "output": "x.pt"},
        ...                    "pretrain", where="an example")
        >>> cfg.task
        'classification'

    Raises:
        InvalidConfigError: unknown or invalid keys (named, with ``where``).
    """
    model = {"pretrain": PretrainConfig, "finetune": FinetuneConfig}[kind]
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        raise InvalidConfigError(f"invalid {kind} config {where}: {validation_summary(err)}") from None


def load_config(path: str | os.PathLike, kind: str, overrides: dict[str, Any] | None = None
                ) -> PretrainConfig | FinetuneConfig:
    """Read a YAML config, apply ``{dotted.key: value}`` overrides, validate.

    Raises:
        InvalidConfigError: unreadable YAML, unknown or invalid keys (named, with the file).
    """
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise InvalidConfigError(f"cannot read config {p}: {err}") from err
    if not isinstance(raw, dict):
        raise InvalidConfigError(f"config {p}: expected a mapping at the top, got {type(raw).__name__}")
    for key, value in (overrides or {}).items():
        if value is not None:
            _set(raw, key, value)
    return parse_config(raw, kind, where=str(p))
