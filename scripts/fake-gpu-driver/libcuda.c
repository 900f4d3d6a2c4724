/* A stand-in for the NVIDIA driver's libcuda.so.1, to rehearse the grader's GPU hand-over on a machine
 * with no GPU. It is not a GPU: it only behaves like the driver where the grader's plumbing matters.
 * Like the real driver, it finds a device only when the container was given the device nodes:
 * cuInit fails with CUDA_ERROR_NO_DEVICE (100) unless /dev/nvidiactl and /dev/nvidia0 open. */
#include <fcntl.h>
#include <unistd.h>

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NO_DEVICE 100

static int opens(const char *path) {
    int fd = open(path, O_RDWR);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

int cuInit(unsigned int flags) {
    (void)flags;
    return opens("/dev/nvidiactl") && opens("/dev/nvidia0") ? CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
}

int cuDeviceGetCount(int *count) {
    *count = opens("/dev/nvidia0") ? 1 : 0;
    return CUDA_SUCCESS;
}
