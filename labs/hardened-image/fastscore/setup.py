from setuptools import Extension, setup

setup(ext_modules=[Extension("fastscore", ["fastscore.c"])])
