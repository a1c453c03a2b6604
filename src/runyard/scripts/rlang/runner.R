# runyard's R runner (see docs/scripts.md, "R"): runs one user script with ProActive's bindings.
#
#   Rscript --vanilla runner.R BINDINGS.json SCRIPT.R ORIGIN OUTPUTS.json
#
# Prologue: the bindings are read from BINDINGS.json into the global environment. The script's
# top-level expressions are then evaluated there, one by one. Epilogue: the output bindings are
# written to OUTPUTS.json, also when the script fails or calls quit() (an exit finalizer does it).
# Everything the runner needs lives in this local() frame, out of the script's sight; its parent is
# R's base environment, so that functions the script defines (a `paste0` of its own) are not the
# runner's.
local(envir = new.env(parent = baseenv()), {
  argv <- commandArgs(trailingOnly = TRUE)
  outputs_path <- argv[[4]]
  state <- new.env()
  state$error <- NULL
  state$last <- NULL

  write_text <- function(text) {
    connection <- file(outputs_path, open = "wb")
    on.exit(close(connection))
    writeBin(charToRaw(enc2utf8(text)), connection)
  }

  if (!requireNamespace("jsonlite", quietly = TRUE)) {
    write_text('{"error": "the R package jsonlite is not installed (Debian: r-cran-jsonlite)"}')
    quit(save = "no", status = 1, runLast = FALSE)
  }

  # R values -> JSON: length-1 vectors become scalars, NULL / NA / NaN / Inf become null, named
  # vectors objects, data frames arrays of rows; anything else (functions, environments, models
  # jsonlite cannot write) the text R prints for it.
  as_text <- function(value) paste(utils::capture.output(print(value)), collapse = "\n")
  plain <- function(value) {
    if (is.null(value) || is.data.frame(value) || is.factor(value)) {
      return(value)
    }
    if (is.function(value) || is.environment(value) || is.language(value) || isS4(value)) {
      return(as_text(value))
    }
    if (is.atomic(value) && !is.null(names(value)) && is.null(dim(value))) {
      return(lapply(as.list(value), plain))
    }
    if (is.list(value) && is.null(attr(value, "class", exact = TRUE))) {
      return(lapply(value, plain))
    }
    value
  }
  to_json <- function(value) {
    write <- function(v) {
      jsonlite::toJSON(v, auto_unbox = TRUE, null = "null", na = "null", digits = NA, json_verbatim = TRUE)
    }
    tryCatch(write(plain(value)), error = function(e) write(as_text(value)))
  }
  named_list <- function(name, value) {
    if (is.atomic(value) && !is.null(names(value))) value <- as.list(value)
    if (!is.list(value) || (length(value) > 0 && is.null(names(value)))) {
      stop(sprintf("'%s' must be a named list, got %s", name, class(value)[[1]]), call. = FALSE)
    }
    value
  }

  # The entries of a map the script set: those of `variables` and `resultMap` it did not touch are
  # left out, so that they keep their value and type whatever R made of them.
  changed <- function(name, value) {
    map <- named_list(name, value)
    before <- input[[name]]
    kept <- function(key) key %in% names(before) && identical(map[[key]], before[[key]])
    map[!vapply(names(map), kept, TRUE)]
  }

  # A named list as a JSON object, also when it is empty (jsonlite writes an empty list as []).
  object <- function(entries) if (length(entries) == 0) structure(list(), names = character(0)) else entries

  write_outputs <- function() {
    globals <- globalenv()
    found <- function(name) exists(name, envir = globals, inherits = FALSE)
    maps <- list()
    values <- list()
    problem <- tryCatch({
      for (name in c("variables", "resultMap", "resultMetadata")) {
        if (found(name)) maps[[name]] <- object(lapply(changed(name, get(name, envir = globals)), to_json))
      }
      # ProActive's R engine: without a `result`, the task result is the script's last value.
      if (!found("result")) values$result <- to_json(state$last)
      for (name in c("result", "selected", "branch", "runs", "loop")) {
        if (found(name)) values[[name]] <- to_json(get(name, envir = globals))
      }
      NULL
    }, error = function(e) conditionMessage(e))
    outputs <- list(maps = object(maps), values = object(values))
    outputs$error <- if (is.null(state$error)) problem else state$error
    write_text(jsonlite::toJSON(outputs, auto_unbox = TRUE, json_verbatim = TRUE))
  }

  # The error as R prints it, the functions it went through and where in the script it happened.
  describe <- function(condition, calls, depth) {
    call <- conditionCall(condition)
    text <- if (is.null(call) || identical(call, quote(eval(expression, globalenv())))) {
      paste0("Error: ", conditionMessage(condition))
    } else {
      paste0("Error in ", paste(deparse(call, nlines = 1), collapse = ""), " : ", conditionMessage(condition))
    }
    # the script's own calls: after the runner's frames (up to its eval), before the handler's
    user <- calls[seq_len(length(calls) - 1L)][-seq_len(depth)]
    runner <- vapply(user, function(c) identical(c, quote(eval(expression, globalenv()))), TRUE)
    if (any(runner)) user <- user[-seq_len(max(which(runner)))]
    functions <- vapply(user, function(c) paste(deparse(c[[1]], nlines = 1), collapse = ""), "")
    handling <- which(functions == ".handleSimpleError")
    if (length(handling) > 0) user <- user[seq_len(min(handling) - 1L)]
    lines <- Filter(Negate(is.null), lapply(user, function(c) attr(c, "srcref")))
    line <- if (length(lines) > 0) lines[[length(lines)]][[1]] else state$line
    shown <- length(user) - (length(user) > 0 && functions[[length(user)]] == "stop")
    if (shown > 1) text <- paste0(text, "\nCalls: ", paste(functions[seq_len(shown)], collapse = " -> "))
    paste0(text, "\n  at ", argv[[3]], ", line ", line)
  }

  # JSON -> R: arrays of numbers, strings or booleans become vectors, objects named lists.
  input <- jsonlite::fromJSON(
    argv[[1]], simplifyVector = TRUE, simplifyDataFrame = FALSE, simplifyMatrix = FALSE
  )
  for (name in names(input)) {
    value <- input[[name]]
    if (name %in% c("args", "nodeTokens")) value <- as.character(unlist(value))
    assign(name, value, envir = globalenv())
  }
  reg.finalizer(state, function(s) write_outputs(), onexit = TRUE)
  options(warn = 1)  # warnings in the log as they happen, as ProActive's R engine does

  lines <- readLines(argv[[2]], encoding = "UTF-8", warn = FALSE)
  parsed <- tryCatch(
    parse(text = lines, srcfile = srcfilecopy(argv[[3]], lines), keep.source = TRUE, encoding = "UTF-8"),
    error = function(e) e
  )
  if (inherits(parsed, "error")) {
    state$error <- paste("syntax error:", conditionMessage(parsed))
    quit(save = "no", status = 1, runLast = FALSE)
  }
  starts <- vapply(attr(parsed, "srcref"), function(s) s[[1]], 0L)
  run <- function(expression) {
    depth <- sys.nframe()
    withCallingHandlers(
      eval(expression, globalenv()),
      error = function(e) state$error <- describe(e, sys.calls(), depth)
    )
  }
  failed <- FALSE
  for (i in seq_along(parsed)) {
    state$line <- starts[[i]]
    failed <- tryCatch({
      state$last <- run(parsed[[i]])
      FALSE
    }, error = function(e) TRUE)
    if (failed) break
  }
  quit(save = "no", status = if (failed) 1 else 0, runLast = FALSE)
})
