# read.R — read one file with one R reader and print it as JSON
# {"cols": [...], "rows": [[...], ...]} (NA → null) for the clients tests.
#   Rscript --vanilla read.R READER FILE
# READER: read.csv, read_csv (readr), fread (data.table), fromJSON
# (jsonlite), read_excel (readxl). Values are printed as R's character
# form, so the test compares what R parsed, not the file's bytes.
args <- commandArgs(trailingOnly = TRUE)
reader <- args[1]
path <- args[2]
df <- switch(reader,
  "read.csv" = utils::read.csv(path, encoding = "UTF-8", check.names = FALSE,
                               stringsAsFactors = FALSE),
  "read_csv" = readr::read_csv(path, show_col_types = FALSE, progress = FALSE),
  "fread" = data.table::fread(path, integer64 = "double", encoding = "UTF-8",
                              showProgress = FALSE),
  "fromJSON" = jsonlite::fromJSON(path),
  "read_excel" = readxl::read_excel(path, trim_ws = FALSE),
  stop("unknown reader ", reader))
df <- as.data.frame(df, stringsAsFactors = FALSE)
cols <- names(df)
chr <- lapply(df, function(v) {
  s <- if (inherits(v, "POSIXt") || inherits(v, "Date")) format(v) else
    if (is.numeric(v)) format(v, digits = 17, trim = TRUE) else as.character(v)
  s[is.na(v)] <- NA
  s
})
rows <- if (nrow(df) == 0) list() else
  lapply(seq_len(nrow(df)), function(i) lapply(chr, function(v) if (is.na(v[i])) NA else v[i]))
rows <- lapply(rows, unname)
cat(jsonlite::toJSON(list(cols = cols, rows = rows), auto_unbox = TRUE,
                     na = "null", null = "null", digits = NA))
