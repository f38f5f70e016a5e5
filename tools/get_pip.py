"""Stand-in for the pip bootstrap script that ansible-test downloads into a new sanity venv.

ansible-test fetches get-pip.py from a host this machine cannot reach. All the script
has to do is leave pip, at the pinned version, in the venv: Python's bundled ensurepip
installs a pip, and that pip installs the pinned one from the package index pip is
configured with. ensurepip runs in its own process because it blanks pip's
configuration in the environment of the process that calls it. Options that get-pip
knows and pip does not are dropped. `make sanity` puts this file where ansible-test
looks for its cached copy.
"""

import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
