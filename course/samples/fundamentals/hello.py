"""The program in the fundamentals lesson's first image: it says where it runs.

Inside a container, the host name is the container's short ID, the user is the one the image's USER
line chose, and the Python version is the image's, whatever is installed on your machine.
"""

import getpass
import platform
import socket

print("Hello from inside a container!")
print(f"  host name: {socket.gethostname()}")
print(f"  user:      {getpass.getuser()}")
print(f"  Python:    {platform.python_version()}")
