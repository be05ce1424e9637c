"""Pixels in and out: decoding requests and files, drawing results, regions of interest."""
