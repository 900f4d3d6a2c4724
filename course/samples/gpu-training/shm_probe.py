"""Show the size limit of /dev/shm without PyTorch.

PyTorch's DataLoader workers hand batches to the main process through POSIX shared memory, which lives in
/dev/shm. This script asks for the same kind of memory, SIZE_MB megabytes of it, and writes to every page:

    python shm_probe.py 128

Creating the segment always works (the file is sparse); writing is what allocates the pages. When /dev/shm is
full, the kernel answers the write with SIGBUS and the process dies: exit status 135 (128 + 7, SIGBUS).
With enough shared memory it prints "wrote 128 MB to /dev/shm" and exits 0.
"""

import sys
from multiprocessing import shared_memory

MB = 1024 * 1024


def main() -> int:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    print(f"asking for {size_mb} MB of shared memory in /dev/shm", flush=True)
    segment = shared_memory.SharedMemory(create=True, size=size_mb * MB)
    try:
        one_mb = b"\x01" * MB
        for offset in range(0, size_mb * MB, MB):
            segment.buf[offset:offset + MB] = one_mb  # past the limit of /dev/shm: SIGBUS, right here
    finally:
        segment.close()
        segment.unlink()
    print(f"wrote {size_mb} MB to /dev/shm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
