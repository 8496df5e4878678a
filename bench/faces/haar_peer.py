"""haar_peer.py times OpenCV's Haar cascade face detector for bench/faces,
which writes this file into a scratch folder and runs it with Debian's
interpreter (/usr/bin/python3 -E -s: Debian's python3-opencv):

    haar_peer.py CASCADE THREADS MINSEC IMAGE.png...

cv2.setNumThreads(THREADS); each pass converts every image to grey and
runs detectMultiScale(scaleFactor=1.1, minNeighbors=5, minSize=(30, 30)),
the settings of OpenCV's face detection tutorial. One pass untimed, then
passes until at least 3 and MINSEC seconds; prints one JSON line: the
median pass time per image in ms, and the faces found per pass.
"""
import json
import statistics
import sys
import time

import cv2


def main():
    cascade, threads, min_sec, images = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
    cv2.setNumThreads(threads)
    det = cv2.CascadeClassifier(cascade)
    if det.empty():
        sys.exit("cannot load " + cascade)
    imgs = [cv2.imread(f) for f in images]

    def one_pass():
        n = 0
        for im in imgs:
            grey = cv2.cvtColor(im, cv2.COLOR_BGR2GRAY)
            n += len(det.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(30, 30)))
        return n

    faces = one_pass()
    ts = []
    while len(ts) < 3 or sum(ts) < min_sec:
        t0 = time.perf_counter()
        one_pass()
        ts.append(time.perf_counter() - t0)
    print(json.dumps({"threads": threads, "ms": statistics.median(ts) * 1000 / len(imgs), "faces": faces, "reps": len(ts), "opencv": cv2.__version__}))


main()
