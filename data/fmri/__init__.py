"""fMRI readers: ROI time-series folders (``roi-series`` source kind)."""
