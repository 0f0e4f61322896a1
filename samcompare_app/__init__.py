"""Streamlit-side helpers of the dashboard: session state, widgets, drawing.

The core (`samcompare`) never imports this package.
"""
