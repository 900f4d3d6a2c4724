/* Asks the NVIDIA driver whether a GPU is usable, the way CUDA programs do: load libcuda, call cuInit
 * and cuDeviceGetCount. Prints the line the gpu-training lab's job prints, so the lab's sees_gpu check
 * can judge this image as it judges a learner's. */
#include <dlfcn.h>
#include <stdio.h>

int main(void) {
    void *cuda = dlopen("libcuda.so.1", RTLD_NOW);
    if (cuda == NULL) {
        printf("cuda available: False (%s)\n", dlerror());
        return 0;
    }
    int (*cu_init)(unsigned int) = (int (*)(unsigned int))dlsym(cuda, "cuInit");
    int (*cu_count)(int *) = (int (*)(int *))dlsym(cuda, "cuDeviceGetCount");
    int devices = 0;
    if (cu_init == NULL || cu_count == NULL || cu_init(0) != 0 || cu_count(&devices) != 0 || devices == 0) {
        printf("cuda available: False\n");
        return 0;
    }
    printf("cuda available: True (%d device(s))\n", devices);
    return 0;
}
