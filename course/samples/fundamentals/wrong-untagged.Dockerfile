# Start from the official Python image.
FROM python

# Every later instruction, and the running container, work in /app.
WORKDIR /app

# Copy the program from the build context (this folder) into the image.
COPY hello.py .

# Make an unprivileged user and run as that user, not as root.
RUN useradd --create-home --uid 10001 --no-log-init analyst
USER analyst

# What a container from this image runs when it starts, unless you say otherwise.
CMD ["python", "hello.py"]
