"""Tools the pipeline uses: policy reading, safe writing, search and fetch."""
