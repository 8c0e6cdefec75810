"""Post-processing: plots of anodex runs."""
