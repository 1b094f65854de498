"""fMRI readers: ROI time-series folders (``roi-series``) and 4-D BOLD NIfTI images (``nifti``)."""
