"""pypet's ``Environment`` options that mean nothing on Dask.

pypetx accepts them so a pypet script runs unchanged, and warns once, in one line, that
they are ignored (``ncores`` still sizes the embedded LocalCluster with ``multiproc``,
and ``memory_cap`` maps onto Dask's pause threshold: see docs/migrating.md).
"""

from __future__ import annotations

#: Multiprocessing, storage-service, logging and run-management options of pypet's
#: ``Environment`` (and the old names pypet still accepts for some of them).
IGNORED_ENVIRONMENT_OPTIONS = frozenset({
    # multiprocessing: parallelism comes from the Dask cluster
    "multiproc", "ncores", "use_pool", "use_scoop", "wrap_mode", "freeze_input",
    "freeze_pool_input", "queue_maxsize", "cpu_cap", "swap_cap", "niceness", "timeout",
    "port", "gc_interval", "graceful_exit", "immediate_postproc",
    # logging: pypetx logs to the "pypetx" logger
    "log_config", "log_stdout", "log_level", "log_levels", "log_folder", "logger_names",
    "log_multiproc", "report_progress", "display_time",
    # pypet's HDF5 storage service
    "storage_service", "use_hdf5", "filetitle", "file_title", "encoding", "encoding_errors",
    "complib", "shuffle", "fletcher32", "pandas_format", "pandas_append",
    "purge_duplicate_comments", "summary_tables", "small_overview_tables",
    "large_overview_tables", "overview_tables", "results_per_run",
    "derived_parameters_per_run", "hdf5_compression",
    # trajectory and run management
    "add_time", "automatic_storing", "clean_up_runs", "dynamic_imports",
    "dynamically_imported_classes", "wildcard_functions", "lazy_debug", "do_single_runs",
    "continuable", "continue_folder", "delete_continue", "resumable", "resume_folder",
    "delete_resume",
    # git: pypetx records, never commits unless asked (git_commit=)
    "git_message", "git_fail",
})
