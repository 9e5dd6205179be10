/* 江苏省融资信用服务平台 — small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  // Forms asking for confirmation (revoke, suspend, exit …).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // "Select all / none" buttons for groups of checkboxes.
  document.querySelectorAll("[data-check-all]").forEach(function (button) {
    button.addEventListener("click", function () {
      var group = document.getElementById(button.getAttribute("data-check-all"));
      var state = button.getAttribute("data-state") !== "none";
      if (group) {
        group.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = state; });
      }
    });
  });

  function showFieldError(form, name, message) {
    var input = form.querySelector("[name='" + name + "']");
    var id = "f-" + name + "-error";
    var holder = document.getElementById(id);
    if (!holder) {
      holder = document.createElement("p");
      holder.className = "field-error";
      holder.id = id;
      if (input && input.closest(".field")) {
        input.closest(".field").appendChild(holder);
      } else {
        form.insertBefore(holder, form.firstChild);
      }
    }
    holder.textContent = message;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (described.indexOf(id) < 0) { described.push(id); }
      input.setAttribute("aria-describedby", described.join(" "));
      if (input.closest(".field")) { input.closest(".field").classList.add("has-error"); }
    }
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error, .form-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
  }

  // Batch uploads: send with XHR to show the upload progress, then go to the batch result page.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var bar = form.querySelector("progress");
    var status = form.querySelector("[data-upload-status]");
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented || !window.FormData || !window.XMLHttpRequest) { return; }
      event.preventDefault();
      clearErrors(form);
      var button = form.querySelector("button[type=submit]");
      if (button) { button.disabled = true; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action"));
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.responseType = "json";
      if (bar) { bar.hidden = false; bar.value = 0; }
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && bar) {
          bar.max = e.total; bar.value = e.loaded;
          status.textContent = "正在上传：" + Math.round(e.loaded * 100 / e.total) + "%";
        }
      });
      xhr.upload.addEventListener("load", function () {
        status.textContent = "上传完成，正在逐行校验并入库，请稍候……";
        if (bar) { bar.removeAttribute("value"); }
      });
      xhr.addEventListener("load", function () {
        var body = xhr.response || {};
        if (body.redirect) { window.location.assign(body.redirect); return; }
        if (button) { button.disabled = false; }
        if (bar) { bar.hidden = true; }
        status.textContent = "";
        var errors = body.errors || { _form: "上传失败（HTTP " + xhr.status + "），请重试" };
        Object.keys(errors).forEach(function (name) {
          if (name === "_form") {
            var box = document.createElement("div");
            box.className = "form-error"; box.setAttribute("role", "alert"); box.textContent = errors[name];
            form.insertBefore(box, form.firstChild);
          } else {
            showFieldError(form, name, errors[name]);
          }
        });
        if (body.csrf_token) {
          var token = form.querySelector("input[name=csrf_token]");
          if (token) { token.value = body.csrf_token; }
        }
        var first = form.querySelector("[aria-invalid=true]") || form.querySelector(".form-error");
        if (first && first.focus) { first.setAttribute("tabindex", first.getAttribute("tabindex") || "-1"); first.focus(); }
      });
      xhr.addEventListener("error", function () {
        if (button) { button.disabled = false; }
        status.textContent = "网络错误，上传未完成，请重试";
      });
      xhr.send(new FormData(form));
    });
  });
})();
