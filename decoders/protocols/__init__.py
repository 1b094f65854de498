"""Evaluation protocols as a registry: which samples train and which test, fold by fold.

A protocol is a `Protocol` subclass declaring its ``name``, ``description``, an ``Options``
schema (pydantic, with bounds) and ``requires`` (what it needs of the data), and cutting a
`DecodingSet` into `Split` folds, on scikit-learn's splitters where one exists. The
experiment schema, the setup warnings, the GUI's protocol list and the CLI read this registry.

Built in (in this order):

``kfold``               stratified k-fold inside each subject+session, subject, or all trials
``cross-session``       per subject, train on some sessions (or runs), test on the others
``loso``                leave one subject out
``leave-one-site-out``  leave one site (``data.session``) out
``repeated-kfold``      repeated stratified k-fold inside each site
``finetune``            pretrain on the other subjects, fine-tune on the target's kfold folds
``holdout``             one contiguous training range and one contiguous test range
``blocked-kfold``       k contiguous time blocks, a gap either side left out of training
``calibration``         train on a calibration run, test on another run
``train-test-groups``   train on named subjects / sessions / sites / runs / files, test on others

Adding one: subclass `Protocol`, then `register_protocol(MyProtocol)` or an entry point in
the ``neurodeck.protocols`` group (docs/extending.md).
"""
from .base import TRIAL_KINDS, Problem, Protocol, ProtocolError, ProtocolOptions, Requirements, Split
from .calibration import CalibrationRuns
from .contiguous import BlockedKFold, Holdout, blocked_kfold_splits, holdout_splits
from .groups import (CrossSession, LeaveOneSiteOut, LeaveOneSubjectOut, cross_session_splits,
                     leave_one_site_out_splits, loso_splits)
from .kfold import Finetune, KFold, RepeatedKFold, finetune_splits, kfold_splits, repeated_kfold_splits
from .transfer import GROUP_KINDS, TrainTestGroups, group_values, train_test_group_splits
from .registry import (ENTRY_POINT_GROUP, available_protocols, make_splits, option_names, protocol,
                       protocol_names, register_protocol, unregister_protocol)

for _builtin in (KFold, CrossSession, LeaveOneSubjectOut, LeaveOneSiteOut, RepeatedKFold, Finetune,
                 Holdout, BlockedKFold, CalibrationRuns, TrainTestGroups):
    register_protocol(_builtin)

__all__ = ["ENTRY_POINT_GROUP", "GROUP_KINDS", "TRIAL_KINDS", "TrainTestGroups", "group_values",
           "train_test_group_splits", "BlockedKFold", "CalibrationRuns", "CrossSession", "Finetune", "Holdout",
           "KFold", "LeaveOneSiteOut", "LeaveOneSubjectOut", "Problem", "Protocol", "ProtocolError",
           "ProtocolOptions", "RepeatedKFold", "Requirements", "Split", "available_protocols",
           "blocked_kfold_splits", "cross_session_splits", "finetune_splits", "holdout_splits",
           "kfold_splits", "leave_one_site_out_splits", "loso_splits", "make_splits", "option_names",
           "protocol", "protocol_names", "register_protocol", "repeated_kfold_splits",
           "unregister_protocol"]
