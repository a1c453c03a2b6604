"""``python -m runyard.kernel -f CONNECTION_FILE``: what Jupyter runs for the runyard kernelspec."""

from ipykernel.kernelapp import IPKernelApp

from runyard.kernel.kernel import RunyardKernel

IPKernelApp.launch_instance(kernel_class=RunyardKernel)
