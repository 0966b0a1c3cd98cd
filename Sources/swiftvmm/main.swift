print("swiftvmm")
