// The sign page's form (/q/<code>): the phone's position on request, at most N photos, one submission.
(function () {
  var form = document.getElementById("report");
  if (!form) { return; }
  var maxPhotos = parseInt(form.getAttribute("data-max-photos"), 10);
  document.getElementById("locate").addEventListener("click", function () {
    var place = document.getElementById("place");
    if (!navigator.geolocation) { place.textContent = "此浏览器无法定位，将使用巡查点位置"; return; }
    place.textContent = "正在定位…";
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById("lat").value = p.coords.latitude.toFixed(6);
      document.getElementById("lng").value = p.coords.longitude.toFixed(6);
      place.textContent = "已使用手机定位（精度约 " + Math.round(p.coords.accuracy) + " 米）";
    }, function () { place.textContent = "无法获取定位，将使用巡查点位置"; }, {enableHighAccuracy: true, timeout: 10000});
  });
  form.addEventListener("submit", function (e) {
    var files = document.getElementById("photos").files;
    if (files.length > maxPhotos) { e.preventDefault(); alert("照片最多 " + maxPhotos + " 张"); return; }
    document.getElementById("submit").disabled = true;
    document.getElementById("submit").textContent = "正在提交…";
  });
})();
