"""The runyard Jupyter kernel: notebook cells build a workflow with the ProActive kernel's ``#%`` pragmas
(``#%task``, ``#%split``/``#%runs``/``#%process``/``#%merge``, ``#%submit_job``...) and run it on a
runyard server through the SDK. ``runyard kernel install`` makes Jupyter offer it; docs/jupyter-kernel.md.

Modules: :mod:`.pragmas` (what a cell's first line may say), :mod:`.notebook_job` (the job being built),
:mod:`.session` (what each pragma does), :mod:`.kernel` (Jupyter's side), :mod:`.kernelspec` (install).
"""
