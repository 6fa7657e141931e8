"""Running sweeps: compare a sweep's plan with the store, hand the sessions left to an executor (this machine, one
at a time, or a Dask cluster), and keep every result in the one store. ``core.run.sweep`` plans; this package runs.
"""
