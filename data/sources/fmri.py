"""The fMRI source kinds; their readers live in `data.fmri` (imported on first use)."""
from __future__ import annotations

from .kind import SourceKind

_ROI = "data.fmri.roi_series"
_NIFTI = "data.fmri.nifti"

ROI_SERIES = SourceKind(
    "roi-series", "a folder of ROI time-series files (.1D .1D.gz .csv .tsv .npy, time x ROIs) with "
    "phenotype tables", f"{_ROI}:is_roi_folder", f"{_ROI}:load_roi_series",
    f"{_ROI}:describe_roi_series", None, f"{_ROI}:RoiSeriesOptions", priority=45, folders=True,
    modality="fmri-roi", produces="trials")
NIFTI = SourceKind(
    "nifti", "4-D BOLD NIfTI (.nii .nii.gz) or a folder of *bold*.nii* runs; mask or label atlas, "
    "events or per-volume labels", f"{_NIFTI}:is_nifti", f"{_NIFTI}:load_spec",
    f"{_NIFTI}:describe_nifti", None, f"{_NIFTI}:NiftiOptions", priority=46,
    extensions=("*.nii", "*.nii.gz"), folders=True, modality="fmri", produces="trials")
